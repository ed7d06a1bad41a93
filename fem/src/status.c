// fem/src/status.c: status names and failure reporting
#include <stdarg.h>
#include <stdio.h>

#include "fem_internal.h"

const char *fem_status_str(fem_status s)
{
    switch (s) {
    case FEM_OK:
        return "FEM_OK";
    case FEM_ERR_NOMEM:
        return "FEM_ERR_NOMEM";
    case FEM_ERR_INVALID:
        return "FEM_ERR_INVALID";
    case FEM_ERR_SETTINGS:
        return "FEM_ERR_SETTINGS";
    case FEM_ERR_NOT_SPD:
        return "FEM_ERR_NOT_SPD";
    case FEM_ERR_CHOLMOD:
        return "FEM_ERR_CHOLMOD";
    case FEM_ERR_STATE:
        return "FEM_ERR_STATE";
    }
    return "FEM_ERR_UNKNOWN";
}

fem_status fem_report_(fem_status st, const char *func, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fem: %s: ", func);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return st;
}

fem_status fem_cholmod_status_(const cholmod_common *cc, const char *func, const char *what)
{
    if (cc->status >= CHOLMOD_OK && cc->status != CHOLMOD_NOT_POSDEF) return FEM_OK;
    if (cc->status == CHOLMOD_NOT_POSDEF)
        return fem_report_(FEM_ERR_NOT_SPD, func,
                           "%s: stiffness matrix not positive definite: the structure is "
                           "under-supported (a mechanism) or has no stiffness somewhere",
                           what);
    if (cc->status == CHOLMOD_OUT_OF_MEMORY)
        return fem_report_(FEM_ERR_NOMEM, func, "%s: CHOLMOD out of memory", what);
    return fem_report_(FEM_ERR_CHOLMOD, func, "%s: CHOLMOD status %d", what, cc->status);
}
