// app/suite_mpi.c: the suite's MPI task farm: rank 0 hands out task indices, largest first,
// one per worker rank at a time; each worker writes its own result files
#include "suite_mpi.h"

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

int app_mpi_farm(const int *order, int n, void (*run)(int task, void *user),
                 const char *(*name)(int task, void *user), void (*done)(int task, void *user),
                 void *user)
{
    (void)order;
    (void)n;
    (void)run;
    (void)name;
    (void)done;
    (void)user;
    return -1;
}

void app_mpi_finish(void) {}

#else

#include <mpi.h>

enum { TAG_ASK = 1, TAG_TASK = 2 };
static int initialized;

/* A worker's request carries the task it ran last (-1 on its first request) and how the process
 * that ran it ended: {task, END_*, signal or exit status, pid}. */
enum { END_OK = 0, END_SIGNAL = 1, END_EXIT = 2, END_WAIT = 3 };
enum { REQ_TASK, REQ_END, REQ_DETAIL, REQ_PID, REQ_N };

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
    if (!launched_by_mpi()) return 0;
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
    if (*size == 1) {
        MPI_Finalize();
        return 0;
    }
    initialized = 1;
    return 1;
}

void app_mpi_finish(void)
{
    if (initialized) MPI_Finalize();
    initialized = 0;
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

/* Rank 0: answer every request with the next task or -1 (stop) until all workers stopped;
 * return the number of tasks whose process died. MPI_Iprobe with a short sleep instead of a
 * blocking receive: Open MPI's blocking receive polls at full speed, which would take a core
 * from the workers for the whole run. */
static int coordinate(const int *order, int n, int nranks,
                      const char *(*name)(int task, void *user), void (*done)(int task, void *user),
                      void *user)
{
    int next = 0, stopped = 0, lost = 0;
    long idle_ns = 100000;
    while (stopped < nranks - 1) {
        int flag = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS)
            return -1;
        if (!flag) {
            struct timespec ts = {0, idle_ns};
            nanosleep(&ts, NULL);
            if (idle_ns < 20000000) idle_ns *= 2; /* up to 20 ms between polls */
            continue;
        }
        idle_ns = 100000;
        int req[REQ_N];
        if (MPI_Recv(req, REQ_N, MPI_INT, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        /* a finished task needs no bookkeeping here: the rows on disk are the record */
        if (req[REQ_TASK] >= 0 && req[REQ_END] != END_OK) {
            report_lost(req, st.MPI_SOURCE, name, user);
            lost++;
        } else if (req[REQ_TASK] >= 0 && done) {
            done(req[REQ_TASK], user);
        }
        int t = next < n ? order[next++] : -1;
        if (t < 0) stopped++;
        if (MPI_Send(&t, 1, MPI_INT, st.MPI_SOURCE, TAG_TASK, MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return lost;
}

/* A worker: run task t in a child process and fill req with how it ended. A task that crashes
 * (a signal, the OOM killer, kill -9) then ends only that child, not the rank, which Open MPI
 * would answer by ending the whole job. The child never calls MPI: it runs the task, which
 * writes its own files, and leaves with _exit, so that no atexit handler or stdio buffer of
 * the rank runs twice. If fork fails (no memory, process limit) this task and all later ones
 * of the rank run in the rank's own process, as without children: once a task has started
 * thread pools (OpenMP) in the rank, a forked child could not use them. */
static void run_in_child(int t, void (*run)(int task, void *user), void *user, int *req)
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
        run(t, user);
        req[REQ_PID] = (int)parent;
        return;
    }
    if (pid == 0) {
#ifdef __linux__
        /* a rank that dies (mpirun ended, SIGTERM, a failed node's job torn down) takes its
         * task with it instead of leaving it running as an orphan */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
#endif
        run(t, user);
        fflush(NULL);
        _exit(0);
    }
    req[REQ_PID] = (int)pid;
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    if (w < 0) {
        req[REQ_END] = END_WAIT;
        req[REQ_DETAIL] = errno;
    } else if (WIFSIGNALED(status)) {
        req[REQ_END] = END_SIGNAL;
        req[REQ_DETAIL] = WTERMSIG(status);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        req[REQ_END] = END_EXIT;
        req[REQ_DETAIL] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
}

static int work(void (*run)(int task, void *user), void *user)
{
    int req[REQ_N] = {-1, END_OK, 0, 0};
    for (;;) {
        int t;
        if (MPI_Send(req, REQ_N, MPI_INT, 0, TAG_ASK, MPI_COMM_WORLD) != MPI_SUCCESS) return -1;
        if (MPI_Recv(&t, 1, MPI_INT, 0, TAG_TASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        if (t < 0) return 0;
        run_in_child(t, run, user, req);
    }
}

int app_mpi_farm(const int *order, int n, void (*run)(int task, void *user),
                 const char *(*name)(int task, void *user), void (*done)(int task, void *user),
                 void *user)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* no barrier at the end: a worker asks for its next task only after its row is renamed
     * into place, so rank 0 has every row once all workers stopped; and a barrier would make
     * the workers that finish first poll at full speed while the others still compute */
    return rank == 0 ? coordinate(order, n, size, name, done, user) : work(run, user);
}

#endif
