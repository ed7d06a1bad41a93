// app/export_internal.h: helpers shared by the export_*.c files (not part of the public API)
#ifndef APP_EXPORT_INTERNAL_H
#define APP_EXPORT_INTERNAL_H

#include <stdio.h>

#include "export.h"

/** Write a printf-style message into err[errlen] (if err != NULL and errlen > 0) and return st.
 *  Never prints. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
app_io_status
app_io_fail_(app_io_status st, char *err, size_t errlen, const char *fmt, ...);

#define APP_IO_FAIL(st, ...) app_io_fail_((st), err, errlen, __VA_ARGS__)

/** malloc'd "<path>.tmp", or NULL when out of memory. */
char *app_io_tmp_name_(const char *path);

/** fsync the file at tmp, then rename tmp onto path. On failure tmp is removed and a message
 *  naming path is written to err. */
app_io_status app_io_commit_(const char *tmp, const char *path, char *err, size_t errlen);

#endif
