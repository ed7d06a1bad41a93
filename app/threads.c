// app/threads.c: the program's own choice of BLAS and OpenMP threads
#include "threads.h"

#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>

#ifdef APP_HAVE_OPENMP
#include <omp.h>
#endif

static int g_cap, g_forced;

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

int app_threads_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
}

int app_threads_auto(int nelem)
{
    (void)nelem; // one thread measured best or equal at every grid size (threads.h)
    return 1;
}

void app_threads_limit(int cap, int forced)
{
    g_cap = cap > 0 ? cap : 0;
    g_forced = forced > 0 ? forced : 0;
}

void app_threads_apply(int requested, int nelem, app_threads_info *info)
{
    int n = requested;
    if (n <= 0) n = g_forced;
    if (n <= 0) {
        n = app_threads_auto(nelem);
        if (g_cap > 0 && n > g_cap) n = g_cap;
    }
    if (n < 1) n = 1;
    const int blas_env = env_set("OPENBLAS_NUM_THREADS") || env_set("GOTO_NUM_THREADS") ||
                         env_set("OMP_NUM_THREADS");
    const int omp_env = env_set("OMP_NUM_THREADS");
    if (!blas_env) openblas_set_num_threads(n);
#ifdef APP_HAVE_OPENMP
    if (!omp_env) {
        omp_set_num_threads(n);
        // Debian's CHOLMOD asks for 4 threads in a num_threads clause, which overrides
        // omp_set_num_threads; with one thread wanted, no parallel region may be active at all
        // (max-active-levels 0 runs every region on one thread, clause or not).
        omp_set_max_active_levels(n == 1 ? 0 : 1);
    }
#endif
    if (info) {
        info->blas = openblas_get_num_threads();
#ifdef APP_HAVE_OPENMP
        info->omp = omp_get_max_threads();
#else
        info->omp = 1;
#endif
        info->blas_env = blas_env;
        info->omp_env = omp_env;
    }
}

int app_blas_kernel_fix(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE")) return 0; // the user's choice, or already re-executed
    const char *core = openblas_get_corename();
    if (!core || strcasecmp(core, "prescott") != 0) return 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    const char *want = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
    else if (__builtin_cpu_supports("avx"))
        want = "Sandybridge";
    if (!want) return 0;
    if (setenv("OPENBLAS_CORETYPE", want, 1)) return 0;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); // exec failed: go on with the slow kernel
    return -1;
#else
    (void)argv;
    return 0;
#endif
}
