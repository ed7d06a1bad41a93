// app/suite_mpi.c: the suite's MPI task farm: rank 0 hands out task indices, largest first,
// one per worker rank at a time; each worker writes its own result files
#include "suite_mpi.h"

#include "run.h" /* app_now */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifdef APP_HAVE_OPENMP
#include <omp.h>
#endif

/* OpenBLAS's own call (the project's BLAS, see cmake/deps.cmake). */
void openblas_set_num_threads(int num_threads);

void app_mpi_set_threads(int n)
{
    if (n < 1) n = 1;
    openblas_set_num_threads(n);
#ifdef APP_HAVE_OPENMP
    omp_set_num_threads(n);
#endif
}

/* srun started several tasks that do not form one MPI job (srun --mpi=none, a cluster's default
 * MPI plugin that this MPI does not speak, or a topopt without MPI): each would run the whole
 * suite into the same files. 1 with the message printed (how = why this rank is alone). */
static int slurm_tasks_alone(const char *how)
{
    const char *n = getenv("SLURM_STEP_NUM_TASKS");
    if (!n || atoi(n) <= 1) return 0;
    fprintf(stderr,
            "topopt: suite: srun started %s tasks, but %s, so each would run the whole suite "
            "into the same files: launch with srun --mpi=pmix (Open MPI; `srun --mpi=list` shows "
            "the plugins of this Slurm) or with mpirun inside the allocation\n",
            n, how);
    return 1;
}

#ifndef APP_HAVE_MPI

int app_mpi_start(int *rank, int *size)
{
    *rank = 0;
    *size = 1;
    /* every rank would run the whole suite into the same files */
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    if (n && atoi(n) > 1) {
        fprintf(stderr,
                "topopt: suite: started by an MPI launcher with %s ranks, but this "
                "topopt was built without MPI (rebuild with libopenmpi-dev installed "
                "and -DTOPOPT_MPI=ON, or use --jobs)\n",
                n);
        return -1;
    }
    if (slurm_tasks_alone("this topopt was built without MPI")) return -1;
    return 0;
}

int app_mpi_agree(int rc)
{
    return rc;
}

int app_mpi_threads_per_rank(void)
{
    return 1;
}

int app_mpi_farm(const int *order, int n, const app_mpi_tasks *tk)
{
    (void)order;
    (void)n;
    (void)tk;
    return -1;
}

void app_mpi_finish(void) {}

int app_mpi_ranks_survive(void)
{
    return -1;
}

#else

#include <mpi.h>

enum { TAG_ASK = 1, TAG_TASK = 2, TAG_BEAT = 3, TAG_END = 4 };
static int initialized;
/* A rank died during the farm: MPI_Finalize would wait for it (a fence over every rank) */
static int skip_finalize;

/* A worker's request carries the task it ran last (-1 on its first request), how the process
 * that ran it ended, and whether the worker was asked to stop: {task, END_*, signal or exit
 * status, pid, stop}. END_STOPPED: the task stopped early on a stop request (checkpoint
 * written), told by the child's exit status EXIT_STOPPED. */
enum { END_OK = 0, END_SIGNAL = 1, END_EXIT = 2, END_WAIT = 3, END_STOPPED = 4 };
enum { REQ_TASK, REQ_END, REQ_DETAIL, REQ_PID, REQ_STOP, REQ_N };
enum { EXIT_STOPPED = 75 };

/* Variables that the launchers set in every rank they start. */
static int launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                       "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int app_mpi_start(int *rank, int *size)
{
    *rank = 0;
    *size = 1;
    if (!launched_by_mpi())
        return slurm_tasks_alone("no MPI launcher started this one (no PMIx or PMI variables)") ? -1
                                                                                                : 0;
    /* The workers fork a process per task (run_in_child). Open MPI warns about any fork once
     * a verbs (InfiniBand) device is in use, because a child that touched memory registered
     * with the device could corrupt it; the children here never touch MPI state or its
     * buffers. A value already in the environment (also `mpirun --mca mpi_warn_on_fork 1`,
     * which arrives that way) is kept; one in an mca-params.conf file is overridden. */
    setenv("OMPI_MCA_mpi_warn_on_fork", "0", 0);
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "topopt: suite: MPI_Init failed\n");
        return -1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    /* an error on a message to or from a rank that died must reach the farm, which goes on
     * without that rank, instead of aborting the job */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (*size == 1) {
        MPI_Finalize();
        return slurm_tasks_alone("MPI sees this one alone") ? -1 : 0;
    }
    initialized = 1;
    return 1;
}

void app_mpi_finish(void)
{
    if (initialized && !skip_finalize) MPI_Finalize();
    initialized = 0;
}

int app_mpi_ranks_survive(void)
{
    const char *v = getenv("OMPI_MCA_orte_enable_recovery");
    if (!getenv("OMPI_COMM_WORLD_SIZE")) return -1; /* not Open MPI: the launcher decides */
    return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"));
}

int app_mpi_agree(int rc)
{
    int all = rc;
    if (initialized) MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

static int env_cap(const char *name)
{
    const char *s = getenv(name);
    int v = s ? atoi(s) : 0;
    return v > 0 ? v : 0;
}

int app_mpi_threads_per_rank(void)
{
    int rank, local, worker = 1, workers = 0;
    MPI_Comm node;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) !=
        MPI_SUCCESS)
        return 1;
    MPI_Comm_size(node, &local);
    if (rank == 0) worker = 0;
    MPI_Allreduce(&worker, &workers, 1, MPI_INT, MPI_SUM, node);
    MPI_Comm_free(&node);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = workers > 0 && cores > 0 ? (int)(cores / workers) : 1;
    if (n < 1) n = 1;
    int cap = env_cap("OPENBLAS_NUM_THREADS");
    if (env_cap("OMP_NUM_THREADS") && (!cap || env_cap("OMP_NUM_THREADS") < cap))
        cap = env_cap("OMP_NUM_THREADS");
    if (cap && n > cap) n = cap;
    return n;
}

/* Rank 0: one line on stderr for a task whose process died. */
static void report_lost(const int *req, int from, const char *(*name)(int task, void *user),
                        void *user)
{
    const char *nm = name ? name(req[REQ_TASK], user) : NULL;
    char how[160];
    if (req[REQ_END] == END_SIGNAL)
        snprintf(how, sizeof how, "was killed by signal %d (%s)", req[REQ_DETAIL],
                 strsignal(req[REQ_DETAIL]));
    else if (req[REQ_END] == END_EXIT)
        snprintf(how, sizeof how, "exited with status %d", req[REQ_DETAIL]);
    else
        snprintf(how, sizeof how, "could not be waited for (%s)", strerror(req[REQ_DETAIL]));
    fprintf(stderr,
            "topopt: suite: lost task %d%s%s%s: its process %d on rank %d %s; the other tasks go "
            "on, --resume reruns it\n",
            req[REQ_TASK], nm ? " (" : "", nm ? nm : "", nm ? ")" : "", req[REQ_PID], from, how);
    fflush(stderr);
}

/* A worker rank as rank 0 sees it. */
typedef struct {
    int task;      /* the task it runs, -1 between tasks */
    int stopped;   /* told that there is no task left */
    int dead;      /* silent for longer than the timeout */
    int unwatched; /* runs its tasks in its own process: cannot send heartbeats */
    double heard;  /* when its last message came */
} peer;

/* Heartbeat period of a worker for a given timeout: a dead rank is noticed within the timeout
 * while a live one sends at least four messages in it. */
static double beat_period(double timeout)
{
    double b = timeout / 4;
    return b < 10 ? b : 10;
}

/* Rank 0: hand out tasks (largest first; the task of a rank that died goes out again first)
 * until every live worker is stopped, then tell them whether to finalize. Returns the number
 * of tasks lost (their process died, or no worker was left to run them). MPI_Iprobe with short
 * sleeps instead of a blocking receive: Open MPI's blocking receive polls at full speed, which
 * would take a core from the workers for the whole run. */
static int coordinate(const int *order, int n, int nranks, const app_mpi_tasks *tk)
{
    const double timeout = tk->rank_timeout;
    const char *(*name)(int, void *) = tk->name;
    void *user = tk->user;
    int next = 0, stopped = 0, dead = 0, lost = 0, nagain = 0;
    peer *pr = calloc((size_t)nranks, sizeof *pr);
    int *again = malloc((size_t)(nranks > 1 ? nranks : 1) * sizeof *again);
    if (!pr || !again) {
        free(pr);
        free(again);
        fprintf(stderr, "topopt: suite: out of memory\n");
        return -1;
    }
    double t_check = app_now(), t_beat = t_check;
    for (int r = 1; r < nranks; r++) {
        pr[r].task = -1;
        pr[r].heard = t_check;
    }
    long idle_ns = 100000;
    while (stopped + dead < nranks - 1) {
        int flag = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS) {
            lost = -1;
            break;
        }
        double t = app_now();
        if (t - t_beat >= beat_period(timeout)) { /* the stopped workers wait for the end */
            t_beat = t;
            const int zero = 0;
            for (int r = 1; r < nranks; r++)
                if (pr[r].stopped && !pr[r].dead)
                    MPI_Send(&zero, 1, MPI_INT, r, TAG_BEAT, MPI_COMM_WORLD);
        }
        if (t - t_check >= 0.2 * beat_period(timeout)) { /* silent ranks */
            t_check = t;
            for (int r = 1; r < nranks; r++) {
                peer *q = &pr[r];
                if (q->dead || q->unwatched || t - q->heard <= timeout) continue;
                q->dead = 1;
                dead++;
                if (q->stopped) stopped--;
                const char *nm = q->task >= 0 && name ? name(q->task, user) : NULL;
                if (q->task >= 0) {
                    fprintf(stderr,
                            "topopt: suite: rank %d sent nothing for %.0f s (its process or "
                            "node died?): its task %d%s%s%s goes to another rank, from its last "
                            "checkpoint\n",
                            r, t - q->heard, q->task, nm ? " (" : "", nm ? nm : "", nm ? ")" : "");
                    again[nagain++] = q->task;
                    q->task = -1;
                } else {
                    fprintf(stderr,
                            "topopt: suite: rank %d sent nothing for %.0f s (its process or "
                            "node died?); it held no task\n",
                            r, t - q->heard);
                }
                fflush(stderr);
            }
            continue;
        }
        if (!flag) {
            struct timespec ts = {0, idle_ns};
            nanosleep(&ts, NULL);
            if (idle_ns < 20000000) idle_ns *= 2; /* up to 20 ms between polls */
            continue;
        }
        idle_ns = 100000;
        const int src = st.MPI_SOURCE;
        peer *q = src > 0 && src < nranks ? &pr[src] : NULL;
        if (st.MPI_TAG == TAG_BEAT) {
            int v;
            if (MPI_Recv(&v, 1, MPI_INT, src, TAG_BEAT, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
                MPI_SUCCESS) {
                lost = -1;
                break;
            }
            if (q) {
                q->heard = t;
                if (v == -2) q->unwatched = 1;
            }
            continue;
        }
        int req[REQ_N];
        if (st.MPI_TAG != TAG_ASK || !q ||
            MPI_Recv(req, REQ_N, MPI_INT, src, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE) !=
                MPI_SUCCESS) {
            lost = -1;
            break;
        }
        int msg[2] = {-1, 0};
        if (q->dead) { /* declared dead but alive: its task runs elsewhere, it stops here */
            msg[1] = 1;
            MPI_Send(msg, 2, MPI_INT, src, TAG_TASK, MPI_COMM_WORLD);
            continue;
        }
        q->heard = t;
        /* a finished task needs no bookkeeping here: the rows on disk are the record */
        if (req[REQ_TASK] >= 0 && req[REQ_END] == END_STOPPED) {
            /* stopped with its checkpoint: neither done nor lost */
        } else if (req[REQ_TASK] >= 0 && req[REQ_END] != END_OK) {
            report_lost(req, src, name, user);
            lost++;
        } else if (req[REQ_TASK] >= 0 && tk->done) {
            tk->done(req[REQ_TASK], user);
        }
        if (req[REQ_STOP] || (tk->stopping && tk->stopping())) {
            /* no other task for a worker asked to stop, nor for any once rank 0 is */
        } else if (nagain > 0) {
            msg[0] = again[--nagain];
            msg[1] = 1;
        } else if (next < n) {
            msg[0] = order[next++];
        }
        q->task = msg[0];
        if (msg[0] < 0) {
            q->stopped = 1;
            stopped++;
        }
        if (MPI_Send(msg, 2, MPI_INT, src, TAG_TASK, MPI_COMM_WORLD) != MPI_SUCCESS) {
            lost = -1;
            break;
        }
    }
    if (lost >= 0 && nagain + (n - next) > 0 && !(tk->stopping && tk->stopping())) {
        fprintf(stderr, "topopt: suite: no worker rank left for %d task%s; --resume runs %s\n",
                nagain + n - next, nagain + n - next > 1 ? "s" : "",
                nagain + n - next > 1 ? "them" : "it");
        lost += nagain + n - next;
    }
    /* the last word: finalize together, or (a rank died) leave without MPI_Finalize, whose
     * fence over every rank would wait for the dead one forever */
    skip_finalize = dead > 0 || lost < 0;
    for (int r = 1; r < nranks; r++) /* a dead one too (errors ignored): it may only hang */
        MPI_Send(&skip_finalize, 1, MPI_INT, r, TAG_END, MPI_COMM_WORLD);
    if (dead > 0 && lost >= 0)
        fprintf(stderr, "topopt: suite: %d worker rank%s died; %s\n", dead, dead > 1 ? "s" : "",
                nagain + n - next > 0 ? "see above" : "the other ranks ran all tasks");
    free(pr);
    free(again);
    return lost;
}

/* A worker: a heartbeat to rank 0 (task, or -2: this rank cannot send more while it runs). */
static void beat(int v)
{
    MPI_Send(&v, 1, MPI_INT, 0, TAG_BEAT, MPI_COMM_WORLD);
}

/* A worker: wait for the child pid (pid > 0; returns waitpid's result) or for rank 0's next
 * message (pid <= 0; its tag, TAG_TASK into msg[2] or TAG_END into msg[0]; -1 on an MPI error;
 * -2 when rank 0, which answers at once and beats to waiting ranks, sent nothing for timeout
 * seconds) with short sleeps, sending a heartbeat every period seconds. Once stopping() says
 * so, the child gets one SIGTERM. */
static int wait_beating(pid_t pid, int *status, int task, double period, double timeout, int *msg,
                        int (*stopping)(void))
{
    double last = app_now(), heard = last;
    long ns = 100000;
    int passed = 0;
    for (;;) {
        if (pid > 0 && !passed && stopping && stopping()) {
            kill(pid, SIGTERM);
            passed = 1;
        }
        double t = app_now();
        if (pid > 0) {
            pid_t w = waitpid(pid, status, WNOHANG);
            if (w != 0 && !(w < 0 && errno == EINTR)) return (int)w;
        } else {
            int flag = 0;
            MPI_Status st;
            if (MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS) return -1;
            if (flag) {
                const int tag = st.MPI_TAG, cnt = tag == TAG_TASK ? 2 : 1;
                int beat_v;
                if ((tag != TAG_TASK && tag != TAG_END && tag != TAG_BEAT) ||
                    MPI_Recv(tag == TAG_BEAT ? &beat_v : msg, cnt, MPI_INT, 0, tag, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE) != MPI_SUCCESS)
                    return -1;
                if (tag != TAG_BEAT) return tag;
                heard = t;
                ns = 100000;
                continue;
            }
            if (t - heard > timeout) return -2;
        }
        if (t - last >= period) {
            beat(task);
            last = t;
        }
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        if (ns < 50000000) ns *= 2; /* up to 50 ms between looks */
    }
}

/* A worker: run task t in a child process and fill req with how it ended. A task that crashes
 * (a signal, the OOM killer, kill -9) then ends only that child, not the rank, which Open MPI
 * would answer by ending the whole job. The child never calls MPI: it runs the task, which
 * writes its own files, and leaves with _exit, so that no atexit handler or stdio buffer of
 * the rank runs twice. While it runs, the rank sends rank 0 a heartbeat every period seconds.
 * If fork fails (no memory, process limit) this task and all later ones of the rank run in the
 * rank's own process, as without children (and without heartbeats: rank 0 is told so): once a
 * task has started thread pools (OpenMP) in the rank, a forked child could not use them. */
static void run_in_child(int t, int again, const app_mpi_tasks *tk, double period, int *req)
{
    req[REQ_TASK] = t;
    req[REQ_END] = END_OK;
    req[REQ_DETAIL] = 0;
    req[REQ_PID] = 0;
    fflush(NULL); /* what the rank buffered would otherwise be written by the child too */
    static int in_process;
    pid_t parent = getpid();
    pid_t pid = in_process ? -1 : fork();
    if (pid < 0) {
        if (!in_process)
            fprintf(stderr,
                    "topopt: suite: fork: %s; this rank runs its tasks in its own process "
                    "from now on\n",
                    strerror(errno));
        in_process = 1;
        beat(-2);
        if (tk->run(t, again, tk->user)) req[REQ_END] = END_STOPPED;
        req[REQ_PID] = (int)parent;
        return;
    }
    if (pid == 0) {
#ifdef __linux__
        /* a rank that dies (mpirun ended, SIGTERM, a failed node's job torn down) takes its
         * task with it instead of leaving it running as an orphan */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
#endif
        /* a group of its own: a stop signal sent to the rank's group (mpirun, Slurm) reaches
         * the rank alone, which passes exactly one on (a second would end the task before its
         * checkpoint) */
        setpgid(0, 0);
        const int stopped = tk->run(t, again, tk->user);
        fflush(NULL);
        _exit(stopped ? EXIT_STOPPED : 0);
    }
    req[REQ_PID] = (int)pid;
    int status = 0;
    pid_t w = wait_beating(pid, &status, t, period, 0, NULL, tk->stopping);
    if (w < 0) {
        req[REQ_END] = END_WAIT;
        req[REQ_DETAIL] = errno;
    } else if (WIFSIGNALED(status)) {
        req[REQ_END] = END_SIGNAL;
        req[REQ_DETAIL] = WTERMSIG(status);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_STOPPED) {
        req[REQ_END] = END_STOPPED;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        req[REQ_END] = END_EXIT;
        req[REQ_DETAIL] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
}

static int work(const app_mpi_tasks *tk)
{
    const double period = beat_period(tk->rank_timeout), timeout = tk->rank_timeout;
    int req[REQ_N] = {-1, END_OK, 0, 0, 0};
    for (;;) {
        int msg[2] = {-1, 0};
        req[REQ_STOP] = tk->stopping && tk->stopping();
        if (MPI_Send(req, REQ_N, MPI_INT, 0, TAG_ASK, MPI_COMM_WORLD) != MPI_SUCCESS) return -1;
        /* the task, or no task left: then stay alive (with heartbeats) until rank 0's last
         * word says whether every rank is there to finalize */
        int tag = wait_beating(0, NULL, -1, period, timeout, msg, NULL);
        if (tag == TAG_TASK && msg[0] < 0) {
            if (msg[1]) { /* rank 0 took this rank for dead: its task ran elsewhere */
                skip_finalize = 1;
                return 0;
            }
            tag = wait_beating(0, NULL, -1, period, timeout, msg, NULL);
        }
        if (tag == TAG_END) {
            skip_finalize = msg[0];
            return 0;
        }
        if (tag == -2)
            fprintf(stderr,
                    "topopt: suite: rank 0 sent nothing for %.0f s (its process or node died?); "
                    "this rank stops\n",
                    timeout);
        if (tag != TAG_TASK || msg[0] < 0) {
            skip_finalize = 1;
            return -1;
        }
        run_in_child(msg[0], msg[1], tk, period, req);
    }
}

int app_mpi_farm(const int *order, int n, const app_mpi_tasks *tk_in)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    app_mpi_tasks tk = *tk_in;
    if (!(tk.rank_timeout > 0)) tk.rank_timeout = 120;
    /* no barrier at the end: a worker asks for its next task only after its row is renamed
     * into place, so rank 0 has every row once all workers stopped; the workers then wait
     * for rank 0's last word with short sleeps, not in a barrier that polls at full speed */
    return rank == 0 ? coordinate(order, n, size, &tk) : work(&tk);
}

#endif
