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

/** A file being written under "<path>.tmp", to be renamed onto path once complete, so that a
 *  reader never sees half of it and a failed write leaves the old file in place. */
typedef struct {
    FILE *f;
    char *tmp;
    const char *path;
} app_io_file_;

/** Open "<path>.tmp" with fopen mode ("w" or "wb") into o->f. On failure o->f is NULL, nothing
 *  is left to clean up and err names the file. */
app_io_status app_io_create_(app_io_file_ *o, const char *path, const char *mode, char *err,
                             size_t errlen);

/** Close o->f, reporting any write error (disk full, I/O error) that stdio held back, then
 *  commit the temporary file onto o->path; on any failure the temporary file is removed. Always
 *  releases o. */
app_io_status app_io_finish_(app_io_file_ *o, char *err, size_t errlen);

/** Close o->f and remove the temporary file (the old file under o->path stays). Releases o;
 *  nothing to do for one zeroed, already finished or never opened. */
void app_io_abort_(app_io_file_ *o);

#endif
