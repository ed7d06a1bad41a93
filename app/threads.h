// app/threads.h: the program's own choice of BLAS and OpenMP threads
#ifndef APP_THREADS_H
#define APP_THREADS_H

/** What app_threads_apply() decided. */
typedef struct {
    int blas;     ///< OpenBLAS threads now in effect
    int omp;      ///< OpenMP threads (omp_get_max_threads) now in effect; 1 without OpenMP
    int blas_env; ///< 1 = OPENBLAS_NUM_THREADS / GOTO_NUM_THREADS / OMP_NUM_THREADS decided BLAS
    int omp_env;  ///< 1 = OMP_NUM_THREADS decided OpenMP
} app_threads_info;

/** Online cores of this machine (>= 1). */
int app_threads_cores(void);

/** Threads one process uses by default for a grid of nelem elements (before the cap of
 *  app_threads_limit): 1 at every size. Measured on the 2-core machine of issue 9: two
 *  OpenBLAS threads were slower at 96x32 (the pthread pool's spinning on small GEMMs) and no
 *  faster at 256x256 (see README, "Threads"). */
int app_threads_auto(int nelem);

/** Process-wide limits set once before the runs (the suite calls it before forking its
 *  workers): cap = most threads app_threads_apply() picks for a run that asked for none
 *  (0 = no cap), forced = threads for every run that asked for none (0 = not forced). */
void app_threads_limit(int cap, int forced);

/** Set OpenBLAS (openblas_set_num_threads) and OpenMP (omp_set_num_threads) to the same
 *  count n: requested if > 0, else the forced count of app_threads_limit, else
 *  min(app_threads_auto(nelem), cap). Both libraries get the same n because they never run
 *  nested (CHOLMOD calls BLAS outside its OpenMP loops; the network uses one or the other per
 *  layer), so at most n threads compute at a time. An environment variable the library reads
 *  (OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or OMP_NUM_THREADS for OpenBLAS; OMP_NUM_THREADS
 *  for OpenMP) overrides: that library is left as the variable set it. With n = 1 OpenMP's
 *  max-active-levels is set to 0, so that even a num_threads clause (Debian's CHOLMOD asks
 *  for 4) runs on one thread; otherwise to 1 (no nested teams). info may be NULL. */
void app_threads_apply(int requested, int nelem, app_threads_info *info);

/** 1 if an OpenMP parallel region started now with this num_threads argument (0 = no clause)
 *  would run on one thread: outside every region, and one thread asked for, max-active-levels
 *  0 (app_threads_apply with n = 1), or no clause while omp_get_max_threads() is 1. Such a
 *  region the program calls directly, without libgomp, through its own GOMP_parallel (the
 *  entry GCC emits for `#pragma omp parallel`), which forwards every other region to
 *  libgomp's. Why: libgomp builds a team even for one thread and ends it with a futex
 *  wake-up system call, and Debian's CHOLMOD opens regions for every supernode of its
 *  numeric factorization (about 28 000 system calls a second at 256x256); the FE evaluation
 *  of one thread took 0.467 s with libgomp's team of one and 0.264 s called directly
 *  (bench_eval, 256x256). Inside a called region omp_get_thread_num() is 0 and
 *  omp_get_num_threads() 1, as in a team of one; worksharing, barriers, single and tasks run
 *  as orphaned constructs of the initial thread. Without OpenMP: 1. */
int app_threads_region_inline(unsigned num_threads);

/** OpenBLAS (0.3.21, Debian 12) does not know CPUs newer than it and falls back to its
 *  generic Prescott (SSE3) kernels on them: on this project's Xeon (family 6, model 207, with
 *  AVX-512) a 2000x2000 SGEMM ran at 31 GFLOP/s instead of 136 with the SkylakeX kernels.
 *  OpenBLAS picks its kernels when it is loaded, before main(), from OPENBLAS_CORETYPE; so
 *  when it reports Prescott on a CPU with AVX-512 (or AVX2 + FMA, or AVX), this sets
 *  OPENBLAS_CORETYPE to SkylakeX (Haswell, Sandybridge) and re-executes the program
 *  (/proc/self/exe, same argv). Does nothing when OPENBLAS_CORETYPE is set (the user's choice
 *  wins; it also stops a second re-execution). Returns 0 (nothing to do), or -1 if the exec
 *  failed (the program goes on with the slow kernels); on success it does not return. Call it
 *  first in main(). */
int app_blas_kernel_fix(char **argv);

#endif
