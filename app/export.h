// app/export.h: the program's file outputs (PNG pictures, HDF5 result/checkpoint files, CSV
// history) from plain arrays and structs, so this layer builds and tests on its own.
#ifndef APP_EXPORT_H
#define APP_EXPORT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Conventions shared by every function here:
 * - An element array rho[W*H] is row-major with the TOP row first: rho[ey*W + ex], ey = 0 at
 *   the top, as the fem grid numbers elements (node iy = 0 at the top).
 * - Every writer is atomic: it writes "<path>.tmp" in the same directory, fsyncs it and
 *   renames it onto path. A failed or interrupted write never damages an existing file at
 *   path (the temp file is removed on failure).
 * - err[errlen] (may be NULL / 0) receives a one-line message on failure, naming the file.
 *   Functions never print; the caller decides what to show.
 * - The functions may be called from several threads: every HDF5 call here is serialized by
 *   one internal mutex (HDF5 itself is thread-safe only when built with --enable-threadsafe;
 *   Debian 12's build is, others may not be).
 */

/** Status of every function in this layer (0 = success, negative = failure). */
typedef enum {
    APP_IO_OK = 0,
    APP_IO_ERR_NOMEM = -1,   ///< out of memory
    APP_IO_ERR_INVALID = -2, ///< bad argument (NULL, sizes <= 0, non-finite density, ...)
    APP_IO_ERR_IO = -3,      ///< the OS or library could not create/write/rename/open a file
    APP_IO_ERR_FORMAT = -4,  ///< a file is not what we expect (not PNG/HDF5, missing dataset)
} app_io_status;

/** Short English name of a status ("ok", "out of memory", ...). Never NULL. */
const char *app_io_status_str(app_io_status st);

/** Checked size multiplication: *out = a * b and 0, or -1 (and *out = SIZE_MAX) when the
 *  product does not fit in size_t. Every size computed from a count read from a file or a
 *  config goes through this (or app_size_mul3) before it reaches malloc. */
int app_size_mul(size_t a, size_t b, size_t *out);

/** *out = a * b * c with the same overflow check as app_size_mul. */
int app_size_mul3(size_t a, size_t b, size_t c, size_t *out);

/** FNV-1a 64-bit hash (Fowler, Noll, Vo; offset basis 0xcbf29ce484222325, prime
 *  0x100000001b3) of n bytes at p, continuing from h (start with APP_FNV1A64_INIT).
 *  A corruption check, not a cryptographic hash: it detects damaged files, not forged ones. */
uint64_t app_fnv1a64(uint64_t h, const void *p, size_t n);
#define APP_FNV1A64_INIT 0xcbf29ce484222325ULL

/* ------------------------------------------------------------------------------------------ */
/* PNG                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/** Width in pixels that the default scale (scale = 0) reaches at least. */
#define APP_PNG_MIN_WIDTH 600
/** Largest picture side in pixels that the writer accepts. */
#define APP_PNG_MAX_SIDE 16384

/** Scale factor used when app_png_write_density() gets scale = 0: the smallest K >= 1 with
 *  K * W * copies >= APP_PNG_MIN_WIDTH, copies = 1 + mirror_left + mirror_right, also capped so
 *  that no side exceeds APP_PNG_MAX_SIDE (but at least 1). Returns 1 for W <= 0. */
int app_png_default_scale(int W, int H, int mirror_left, int mirror_right);

/** Write the W x H element density rho[W*H] (rho[ey*W + ex], ey = 0 the top row) as an 8-bit
 *  greyscale PNG: 1 (solid) is black, 0 (void) is white, values in between are grey
 *  (pixel = round(255 * (1 - rho))), values outside [0, 1] are clamped; NaN/inf is rejected
 *  (APP_IO_ERR_INVALID).
 *  Mirroring duplicates the picture about a symmetry edge, as in Hoyer et al.'s figures:
 *  mirror_left gives [flipped | original], mirror_right gives [original | flipped], both give
 *  [flipped | original | flipped].
 *  scale K >= 1 enlarges every element to a K x K block (nearest neighbour); scale = 0 picks
 *  app_png_default_scale(). The picture is K*W*(1 + mirror_left + mirror_right) by K*H pixels.
 *  Written atomically (see above). rho is borrowed. */
app_io_status app_png_write_density(const char *path, const double *rho, int W, int H, int scale,
                                    int mirror_left, int mirror_right, char *err, size_t errlen);

/** Read any PNG as 8-bit greyscale (colour is converted by libpng). On success *pixels is a
 *  malloc'd array of (*width) * (*height) bytes, row-major, top row first (free() it); on
 *  failure *pixels = NULL and *width = *height = 0. */
app_io_status app_png_read_gray(const char *path, unsigned char **pixels, int *width, int *height,
                                char *err, size_t errlen);

/* ------------------------------------------------------------------------------------------ */
/* Iteration history                                                                          */
/* ------------------------------------------------------------------------------------------ */

/** The iteration history as columns; row r is one recorded iteration. All arrays are owned by
 *  the struct when it is built with app_history_init()/app_history_append() or filled by
 *  app_h5_read(); app_history_free() releases them. */
typedef struct {
    int n_rows;              ///< rows recorded
    int capacity;            ///< rows allocated (internal; 0 for an empty history)
    int n_constraints;       ///< constraint columns (>= 0)
    int n_extra;             ///< extra method-specific columns (mu, stationarity, ...) (>= 0)
    char **constraint_names; ///< [n_constraints] NUL-terminated names, e.g. "volume"
    char **extra_names;      ///< [n_extra] NUL-terminated names
    int64_t *iteration;      ///< [n_rows] solver iteration number
    int64_t *evaluations;    ///< [n_rows] cumulative function evaluations
    double *objective;       ///< [n_rows] objective value as the solver sees it
    double *constraints;     ///< [n_rows * n_constraints] row-major: [r*n_constraints + j]
    double *violation;       ///< [n_rows] total constraint violation
    double *step;            ///< [n_rows] step length (or norm) of the iteration
    double *time;            ///< [n_rows] wall time since the start of the run, seconds
    double *extra;           ///< [n_rows * n_extra] row-major: [r*n_extra + j]
} app_history;

/** Make h an empty history with the given columns (names are copied; names may be NULL only
 *  when the count is 0) and room for capacity rows (0 = a small default; it grows by doubling
 *  when full, so reserve the expected iteration count to keep the run loop allocation-free).
 *  On failure h is left empty (safe for app_history_free). */
app_io_status app_history_init(app_history *h, int n_constraints,
                               const char *const *constraint_names, int n_extra,
                               const char *const *extra_names, int capacity);

/** Append one row. constraints[n_constraints] and extra[n_extra] are copied (may be NULL when
 *  the count is 0). */
app_io_status app_history_append(app_history *h, int64_t iteration, int64_t evaluations,
                                 double objective, const double *constraints, double violation,
                                 double step, double time, const double *extra);

/** Drop rows from index n_rows on (n_rows <= h->n_rows), e.g. after resuming from a
 *  checkpoint taken at an earlier row. */
void app_history_truncate(app_history *h, int n_rows);

/** Free every array of h and zero it (NULL-safe; safe on a zeroed struct). */
void app_history_free(app_history *h);

/** Write h as CSV: a header line "iteration,evaluations,objective,<constraint names>,
 *  violation,step,time,<extra names>", then one line per row, numbers with %.17g (round-trip
 *  exact). Atomic. */
app_io_status app_history_write_csv(const char *path, const app_history *h, char *err,
                                    size_t errlen);

/* ------------------------------------------------------------------------------------------ */
/* HDF5 result and checkpoint file                                                            */
/* ------------------------------------------------------------------------------------------ */

/** What a run needs to resume; opaque to this layer (stored and read back bit-exactly).
 *  present = 0 means "no checkpoint" (nothing is written, and app_h5_read leaves it 0). */
typedef struct {
    int present;           ///< 1 if this section is stored
    size_t n_counters;     ///< length of counters
    int64_t *counters;     ///< [n_counters] iteration/evaluation counters etc.
    size_t n_words;        ///< length of words
    uint64_t *words;       ///< [n_words] RNG states, flags, bit patterns
    size_t n_solver_state; ///< length of solver_state
    double *solver_state;  ///< [n_solver_state] solver state (iterate, BFGS memory, mu, ...)
    size_t n_extra;        ///< length of extra
    double *extra;         ///< [n_extra] anything else (nn state, normalization constants, ...)
} app_checkpoint;

/** Everything stored in result.h5. A NULL array (or a zero count) is simply not written, and
 *  app_h5_read() returns NULL/0 for what the file does not hold. For app_h5_write() every
 *  pointer is borrowed: the struct may point into the caller's own buffers (then do NOT call
 *  app_result_free on it). After app_h5_read() every pointer is malloc'd and owned by the
 *  struct: release with app_result_free(). Strings are NUL-terminated UTF-8; NULL = not set. */
typedef struct {
    /* grid */
    int W, H; ///< elements in x and y (both > 0)
    /* densities, [W*H] each, rho[ey*W + ex], ey = 0 the top row (stored as 2D [H][W]) */
    double *rho_raw;      ///< density before the filter (parameterization output)
    double *rho_filtered; ///< after the density filter
    double *rho_physical; ///< after projection: what the FE model saw (design.png shows this)
    /* FE fields */
    int ndof;              ///< dofs of one displacement field (2 (W+1) (H+1) in 2D)
    int n_load_cases;      ///< number of displacement fields
    double *displacement;  ///< [n_load_cases * ndof], load case major: u[lc*ndof + dof]
    double *strain_energy; ///< [W*H] per-element strain energy (layout as rho)
    /* parameters */
    size_t n_params; ///< length of theta
    double *theta;   ///< [n_params] final parameters of the parameterization
    /* history and config */
    app_history history;  ///< iteration history (n_rows may be 0)
    char *config_text;    ///< the resolved config as YAML text
    char *config_keys;    ///< "key: value" lines of the problem- and method-defining keys
                          ///< (app_config_identity), compared key by key on --resume
    uint64_t config_hash; ///< app_fnv1a64 of config_keys (0 = not stored)
    /* scalar attributes */
    double compliance;      ///< final compliance (sum over load cases)
    double volume_fraction; ///< mean physical density of the final design
    int status_code;        ///< run status code (0 = ok; meaning defined by the app)
    char *status;           ///< run status as text, e.g. "converged", "budget", "interrupted"
    char *version;          ///< program version string
    uint64_t seed;          ///< random seed of the run
    char *config_name;      ///< config name (results/<config_name>/)
    char *method;           ///< solver method, e.g. "bfgs-sqp"
    char *parameterization; ///< "cnn", "mlp" or "pixel"
    int mirror_left;        ///< symmetry edges, so that render redraws design.png identically
    int mirror_right;
    /* resume data */
    app_checkpoint checkpoint;
} app_result;

/** HDF5 format tag stored in the root attribute "format", and its version ("format_version"). */
#define APP_H5_FORMAT "topopt-result"
#define APP_H5_FORMAT_VERSION 2

/** Write r to path (atomic: "<path>.tmp" then rename, so an interrupted checkpoint never
 *  destroys the previous file). Checks that every non-NULL array has consistent sizes (W, H > 0
 *  etc.) before touching the disk. Layout (little-endian IEEE doubles, int64/uint64, fixed-length
 *  UTF-8 strings; a group or dataset is absent when its field is NULL / empty):
 *
 *      /                       attributes: format = "topopt-result", format_version = 1 (int),
 *                              W, H, status_code, mirror_left, mirror_right (int),
 *                              compliance, volume_fraction (double), seed (uint64),
 *                              status, version, config_name, method, parameterization (string)
 *                              checksum (uint64, version 2: see below), config_hash (uint64)
 *      /config                 scalar string: the resolved config (YAML text)
 *      /config_keys            scalar string: the defining keys (config_hash = FNV-1a of it)
 *      /density/raw            double [H][W]   (row 0 = top, so viewers show the picture upright)
 *      /density/filtered       double [H][W]
 *      /density/physical       double [H][W]
 *      /fem/displacement       double [n_load_cases][ndof]
 *      /fem/strain_energy      double [H][W]
 *      /params/theta           double [n_params]
 *      /history/iteration      int64  [n_rows]
 *      /history/evaluations    int64  [n_rows]
 *      /history/objective      double [n_rows]   (also violation, step, time)
 *      /history/constraints    double [n_rows][n_constraints], attribute constraint_names
 *      /history/extra          double [n_rows][n_extra], attribute extra_names
 *      /checkpoint/counters    int64  [n_counters]      (group present iff checkpoint.present)
 *      /checkpoint/words       uint64 [n_words]
 *      /checkpoint/solver_state double [n_solver_state]
 *      /checkpoint/extra       double [n_extra]
 *
 *  Integrity (format_version 2): HDF5's own metadata carries checksums (the file is written
 *  with the 1.8 object-header format, whose headers and B-trees are checksummed), and the
 *  root attribute "checksum" is app_result_checksum() of everything stored, so that a damaged
 *  byte anywhere in the data is found when the file is read.
 */
app_io_status app_h5_write(const char *path, const app_result *r, char *err, size_t errlen);

/** Read a file written by app_h5_write into *r (zeroed first; on failure *r is left zeroed
 *  with nothing to free). A missing, truncated, damaged or foreign file gives APP_IO_ERR_IO or
 *  APP_IO_ERR_FORMAT with a message naming the file, the object and what was expected, never
 *  a crash. Every file is treated as hostile: ranks, dimensions and types are checked before
 *  anything is allocated, the data declared by all datasets together may not exceed the
 *  file's size (this writer stores them uncompressed, so a larger claim is a forged or
 *  damaged file), densities must be [H][W], the displacement [n_load_cases][2 (W+1)(H+1)]
 *  with n_load_cases <= APP_H5_MAX_LOAD_CASES, strings are fixed-length without NUL bytes, and
 *  a version-2 file must match its "checksum". */
app_io_status app_h5_read(const char *path, app_result *r, char *err, size_t errlen);

/** app_h5_read of a result file held in memory (size bytes at image, e.g. received or
 *  mapped): the same checks and messages, which name the file as name. The image is not
 *  modified and may be released after the call. */
app_io_status app_h5_read_image(const char *name, const void *image, size_t size, app_result *r,
                                char *err, size_t errlen);

/** Most displacement fields (load cases) a result file may hold. */
#define APP_H5_MAX_LOAD_CASES 64

/** FNV-1a 64 (app_fnv1a64) over every field of r that app_h5_write stores, in a fixed
 *  order, each preceded by its name and element count, numbers as little-endian bytes. */
uint64_t app_result_checksum(const app_result *r);

/** Free every pointer of r (as returned by app_h5_read) with free() and zero it. NULL-safe. */
void app_result_free(app_result *r);

/** render: read the physical density and mirror flags of the result file h5_path and write
 *  them as png_path with app_png_write_density (scale 0 = default). A result file that cannot
 *  be read (missing, damaged, foreign) gives APP_IO_ERR_FORMAT; APP_IO_ERR_IO means the
 *  picture could not be written (disk full, unwritable path). */
app_io_status app_result_render_png(const char *h5_path, const char *png_path, int scale, char *err,
                                    size_t errlen);

/* ------------------------------------------------------------------------------------------ */
/* Small file-system helpers                                                                  */
/* ------------------------------------------------------------------------------------------ */

/** mkdir -p: create dir and its missing parents with mode 0777 & ~umask. Existing
 *  directories are fine. */
app_io_status app_io_mkdirs(const char *dir, char *err, size_t errlen);

/** app_io_lock: another process holds the lock. */
#define APP_IO_LOCK_BUSY (-2)

/** Take the exclusive lock of a folder's work: an flock on the file at path (created empty if
 *  missing), so that two processes never write one folder at the same time. The kernel drops
 *  the lock with the process, so a killed holder never leaves a stale lock. With wait = 0 the
 *  call returns APP_IO_LOCK_BUSY at once when another process holds it; with wait = 1 it waits
 *  for it. Returns the descriptor that holds the lock (close it to release it), or -1 where the
 *  file cannot be opened or the file system offers no locks (the caller goes on unguarded). */
int app_io_lock(const char *path, int wait);

/** 1 if another process holds the lock at path (app_io_lock), without keeping it. */
int app_io_lock_held(const char *path);

/** Copy the file src to dst atomically (a temporary file beside dst, synced, renamed into
 *  place): a reader of dst sees the old file or the whole new one. */
app_io_status app_io_copy_file(const char *src, const char *dst, char *err, size_t errlen);

#endif
