// app/threads.c: the program's own choice of BLAS and OpenMP threads
#define _GNU_SOURCE // RTLD_NEXT
#include "threads.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>

#ifdef APP_HAVE_OPENMP
#include <dlfcn.h>
#include <omp.h>
#endif

static int g_cap, g_forced;

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

#ifdef APP_HAVE_OPENMP
typedef void (*gomp_parallel_fn)(void (*)(void *), void *, unsigned, unsigned);
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);

int app_threads_region_inline(unsigned num_threads)
{
    if (omp_get_level() != 0) return 0; // inside a region: its team decides
    return num_threads == 1 || omp_get_max_active_levels() == 0 ||
           (num_threads == 0 && omp_get_max_threads() == 1);
}

/* The entry GCC calls for `#pragma omp parallel` (libgomp's ABI); this definition in the
 * program comes before libgomp's for every library it loads (CHOLMOD among them). A region
 * that runs on one thread anyway (app_threads_region_inline) is called directly; any other
 * goes on to libgomp's. */
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags)
{
    static gomp_parallel_fn next;
    if (app_threads_region_inline(num_threads)) {
        fn(data);
        return;
    }
    if (!next) {
        void *sym = dlsym(RTLD_NEXT, "GOMP_parallel");
        memcpy(&next, &sym, sizeof next); // POSIX: a function's address from dlsym
    }
    if (next)
        next(fn, data, num_threads, flags);
    else
        fn(data); // no libgomp loaded: nothing could have run the region on more threads
}
#else
int app_threads_region_inline(unsigned num_threads)
{
    (void)num_threads;
    return 1;
}
#endif

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
