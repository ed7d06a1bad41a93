// app/suite_mpi.c: the suite's MPI task farm: rank 0 hands out task indices, largest first,
// one per worker rank at a time; each worker writes its own result files
#include "suite_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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

int app_mpi_farm(const int *order, int n, void (*run)(int task, void *user), void *user)
{
    (void)order;
    (void)n;
    (void)run;
    (void)user;
    return -1;
}

void app_mpi_finish(void) {}

#else

#include <mpi.h>

enum { TAG_ASK = 1, TAG_TASK = 2 };
static int initialized;

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

/* Rank 0: answer every request with the next task or -1 (stop) until all workers stopped.
 * MPI_Iprobe with a short sleep instead of a blocking receive: Open MPI's blocking receive
 * polls at full speed, which would take a core from the workers for the whole run. */
static int coordinate(const int *order, int n, int nranks)
{
    int next = 0, stopped = 0;
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
        int done; /* the task the worker finished (-1 on its first request), unused: the rows
                     on disk are the record */
        MPI_Recv(&done, 1, MPI_INT, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        int t = next < n ? order[next++] : -1;
        if (t < 0) stopped++;
        if (MPI_Send(&t, 1, MPI_INT, st.MPI_SOURCE, TAG_TASK, MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

static int work(void (*run)(int task, void *user), void *user)
{
    int last = -1;
    for (;;) {
        int t;
        if (MPI_Send(&last, 1, MPI_INT, 0, TAG_ASK, MPI_COMM_WORLD) != MPI_SUCCESS) return -1;
        if (MPI_Recv(&t, 1, MPI_INT, 0, TAG_TASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        if (t < 0) return 0;
        run(t, user);
        last = t;
    }
}

int app_mpi_farm(const int *order, int n, void (*run)(int task, void *user), void *user)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* no barrier at the end: a worker asks for its next task only after its row is renamed
     * into place, so rank 0 has every row once all workers stopped; and a barrier would make
     * the workers that finish first poll at full speed while the others still compute */
    return rank == 0 ? coordinate(order, n, size) : work(run, user);
}

#endif
