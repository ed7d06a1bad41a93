// tests/test_app_io.c: the app's file outputs (PNG, HDF5 result/checkpoint, CSV history)
// written, read back with libpng/HDF5 and checked; failure paths leave old files intact
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#include <hdf5.h>

#include "export.h"
#include "h5_craft.h"

/* ---------------------------------------------------------------------------------------- */
/* fixture: a fresh temporary directory for the whole group                                  */
/* ---------------------------------------------------------------------------------------- */

static char g_dir[64];

/* The error message err names what (shows the message when it does not). */
#define assert_err_has(err, what)                                                                  \
    do {                                                                                           \
        if (!strstr((err), (what))) fail_msg("message \"%s\" lacks \"%s\"", (err), (what));        \
    } while (0)

static void remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
                char sub[512];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                remove_tree(sub);
            }
            closedir(d);
        }
        chmod(path, 0700);
        rmdir(path);
    } else {
        remove(path);
    }
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/test_app_io.XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    remove_tree(g_dir);
    // Release HDF5's global state so LeakSanitizer sees no reachable library allocations.
    H5close();
    return 0;
}

/* g_dir/name in buf[512]. */
static const char *tpath(char *buf, const char *name)
{
    snprintf(buf, 512, "%s/%s", g_dir, name);
    return buf;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void spit(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* ---------------------------------------------------------------------------------------- */
/* PNG                                                                                      */
/* ---------------------------------------------------------------------------------------- */

static void test_png_default_scale(void **state)
{
    (void)state;
    assert_int_equal(app_png_default_scale(60, 20, 0, 0), 10);  // 600 / 60
    assert_int_equal(app_png_default_scale(61, 20, 0, 0), 10);  // ceil(600/61) = 10 -> 610 px
    assert_int_equal(app_png_default_scale(192, 64, 1, 0), 2);  // 2 copies: 384 -> 768 px
    assert_int_equal(app_png_default_scale(100, 10, 1, 1), 2);  // 300 -> 600 px
    assert_int_equal(app_png_default_scale(1000, 10, 0, 0), 1); // already wide enough
    assert_int_equal(app_png_default_scale(10, 2000, 0, 0), 8); // 60 would exceed max side
    assert_int_equal(app_png_default_scale(0, 5, 0, 0), 1);
    for (int W = 1; W < 700; W += 7)
        for (int m = 0; m < 4; m++) {
            int copies = 1 + (m & 1) + (m >> 1);
            int k = app_png_default_scale(W, 3, m & 1, m >> 1);
            assert_true(k * W * copies >= APP_PNG_MIN_WIDTH);
            assert_true(k == 1 || (k - 1) * W * copies < APP_PNG_MIN_WIDTH); // smallest such K
        }
}

/* Known pixels: black solid, white void, grey, clamping, top row first. */
static void test_png_values_orientation(void **state)
{
    (void)state;
    char p[512], err[256] = "";
    // top row: solid, void, half; bottom row: 0.25, below 0, above 1
    const double rho[6] = {1.0, 0.0, 0.5, 0.25, -1.0, 2.0};
    assert_int_equal(app_png_write_density(tpath(p, "v.png"), rho, 3, 2, 1, 0, 0, err, sizeof err),
                     APP_IO_OK);
    unsigned char *px = NULL;
    int w = 0, h = 0;
    assert_int_equal(app_png_read_gray(p, &px, &w, &h, err, sizeof err), APP_IO_OK);
    assert_int_equal(w, 3);
    assert_int_equal(h, 2);
    // 255 * (1 - rho) rounded: 0, 255, 127.5 -> 128, 191.25 -> 191, clamp 0 -> 255, clamp 1 -> 0
    const unsigned char want[6] = {0, 255, 128, 191, 255, 0};
    assert_memory_equal(px, want, 6);
    free(px);
    assert_false(file_exists(tpath(p, "v.png.tmp")));
}

/* The expected picture built independently: first the mirrored element array, then K x K. */
static unsigned char *expected_picture(const double *rho, int W, int H, int K, int ml, int mr,
                                       int *pw, int *ph)
{
    int copies = 1 + ml + mr, WW = W * copies;
    double *full = malloc(sizeof(double) * (size_t)(WW * H));
    assert_non_null(full);
    for (int y = 0; y < H; y++) {
        int x = 0;
        if (ml)
            for (int ex = W - 1; ex >= 0; ex--)
                full[y * WW + x++] = rho[y * W + ex];
        for (int ex = 0; ex < W; ex++)
            full[y * WW + x++] = rho[y * W + ex];
        if (mr)
            for (int ex = W - 1; ex >= 0; ex--)
                full[y * WW + x++] = rho[y * W + ex];
    }
    *pw = WW * K;
    *ph = H * K;
    unsigned char *px = malloc((size_t)(*pw) * (size_t)(*ph));
    assert_non_null(px);
    for (int Y = 0; Y < *ph; Y++)
        for (int X = 0; X < *pw; X++) {
            double v = full[(Y / K) * WW + X / K];
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            px[Y * *pw + X] = (unsigned char)floor(255.0 * (1.0 - v) + 0.5);
        }
    free(full);
    return px;
}

static void test_png_scale_mirror(void **state)
{
    (void)state;
    char p[512], err[256] = "";
    enum { W = 5, H = 3 };
    double rho[W * H];
    uint64_t seed = 42;
    for (int i = 0; i < W * H; i++)
        rho[i] = test_uniform(&seed);
    rho[0] = 1.0; // top-left element solid: marks orientation
    for (int m = 0; m < 4; m++) {
        int ml = m & 1, mr = m >> 1;
        for (int K = 1; K <= 4; K += 3) {
            assert_int_equal(
                app_png_write_density(tpath(p, "m.png"), rho, W, H, K, ml, mr, err, sizeof err),
                APP_IO_OK);
            unsigned char *px = NULL;
            int w = 0, h = 0, ew = 0, eh = 0;
            assert_int_equal(app_png_read_gray(p, &px, &w, &h, err, sizeof err), APP_IO_OK);
            unsigned char *want = expected_picture(rho, W, H, K, ml, mr, &ew, &eh);
            assert_int_equal(w, ew);
            assert_int_equal(h, eh);
            assert_int_equal(w, K * W * (1 + ml + mr));
            assert_memory_equal(px, want, (size_t)w * (size_t)h);
            // the solid top-left element is black at the original's top-left corner, and at
            // the picture's outer edge of a mirrored copy
            int x0 = ml ? K * W : 0;
            assert_int_equal(px[x0], 0);
            if (ml) assert_int_equal(px[K * W - 1], 0);
            if (mr) assert_int_equal(px[(size_t)(x0 + 2 * K * W - 1)], 0);
            free(px);
            free(want);
        }
    }
    // scale 0 -> default: >= 600 px wide
    assert_int_equal(app_png_write_density(p, rho, W, H, 0, 1, 0, err, sizeof err), APP_IO_OK);
    unsigned char *px = NULL;
    int w = 0, h = 0;
    assert_int_equal(app_png_read_gray(p, &px, &w, &h, err, sizeof err), APP_IO_OK);
    assert_int_equal(w, 2 * W * app_png_default_scale(W, H, 1, 0));
    assert_true(w >= APP_PNG_MIN_WIDTH);
    assert_int_equal(h, H * app_png_default_scale(W, H, 1, 0));
    free(px);
}

static void test_png_bad_input(void **state)
{
    (void)state;
    char p[512], err[256];
    double rho[4] = {0.1, NAN, 0.3, 0.4};
    err[0] = '\0';
    assert_int_equal(
        app_png_write_density(tpath(p, "bad.png"), rho, 2, 2, 1, 0, 0, err, sizeof err),
        APP_IO_ERR_INVALID);
    assert_err_has(err, "(1, 0)"); // names the element
    assert_false(file_exists(p));
    rho[1] = 0.2;
    assert_int_equal(app_png_write_density(p, rho, 0, 2, 1, 0, 0, err, sizeof err),
                     APP_IO_ERR_INVALID);
    assert_int_equal(app_png_write_density(p, rho, 2, 2, -1, 0, 0, err, sizeof err),
                     APP_IO_ERR_INVALID);
    assert_int_equal(app_png_write_density(p, rho, 2, 2, 100000, 0, 0, err, sizeof err),
                     APP_IO_ERR_INVALID);
    assert_int_equal(app_png_write_density(NULL, rho, 2, 2, 1, 0, 0, NULL, 0), APP_IO_ERR_INVALID);
    assert_false(file_exists(p));

    // reading: missing file, not a PNG, truncated PNG
    unsigned char *px = (unsigned char *)1;
    int w = 7, h = 7;
    err[0] = '\0';
    assert_int_equal(app_png_read_gray(tpath(p, "missing.png"), &px, &w, &h, err, sizeof err),
                     APP_IO_ERR_IO);
    assert_null(px);
    assert_int_equal(w, 0);
    assert_err_has(err, "missing.png");
    static const char notpng[] = "this is not a png file at all";
    spit(tpath(p, "junk.png"), notpng, sizeof notpng - 1);
    assert_int_equal(app_png_read_gray(p, &px, &w, &h, err, sizeof err), APP_IO_ERR_FORMAT);
    assert_null(px);
    assert_int_equal(app_png_write_density(tpath(p, "t.png"), rho, 2, 2, 50, 0, 0, err, sizeof err),
                     APP_IO_OK);
    size_t n = 0;
    unsigned char *bytes = test_read_file(p, &n);
    spit(p, bytes, n / 2);
    free(bytes);
    assert_int_equal(app_png_read_gray(p, &px, &w, &h, err, sizeof err), APP_IO_ERR_FORMAT);
    assert_null(px);
}

/* A failed write (temp file cannot be created) leaves the previous picture intact. */
static void test_png_atomic(void **state)
{
    (void)state;
    char p[512], t[512], err[256];
    const double a[4] = {1, 1, 1, 1}, b[4] = {0, 0, 0, 0};
    assert_int_equal(app_png_write_density(tpath(p, "keep.png"), a, 2, 2, 1, 0, 0, err, sizeof err),
                     APP_IO_OK);
    size_t n0 = 0, n1 = 0;
    unsigned char *before = test_read_file(p, &n0);
    // A directory where the temp file must go makes creating it fail, even for root.
    assert_int_equal(mkdir(tpath(t, "keep.png.tmp"), 0700), 0);
    err[0] = '\0';
    assert_int_equal(app_png_write_density(p, b, 2, 2, 1, 0, 0, err, sizeof err), APP_IO_ERR_IO);
    assert_err_has(err, "keep.png");
    unsigned char *after = test_read_file(p, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    rmdir(t);
    // a directory that does not exist
    err[0] = '\0';
    assert_int_equal(
        app_png_write_density(tpath(p, "no/such/dir/x.png"), a, 2, 2, 1, 0, 0, err, sizeof err),
        APP_IO_ERR_IO);
    assert_true(strlen(err) > 0);
}

/* ---------------------------------------------------------------------------------------- */
/* history and CSV                                                                          */
/* ---------------------------------------------------------------------------------------- */

static void test_history_csv(void **state)
{
    (void)state;
    char p[512], err[256];
    const char *cn[2] = {"volume", "bin,arity"}; // a comma: the CSV header must quote it
    const char *xn[1] = {"mu"};
    app_history h;
    assert_int_equal(app_history_init(&h, 2, cn, 1, xn, 2), APP_IO_OK);
    uint64_t seed = 7;
    double vals[100][7];
    for (int r = 0; r < 100; r++) { // far beyond the capacity of 2: the arrays grow
        for (int j = 0; j < 7; j++)
            vals[r][j] = (test_uniform(&seed) - 0.5) * pow(10.0, (double)(r % 40 - 20));
        assert_int_equal(app_history_append(&h, r, 3 * r + 1, vals[r][0], &vals[r][1], vals[r][3],
                                            vals[r][4], vals[r][5], &vals[r][6]),
                         APP_IO_OK);
    }
    assert_int_equal(h.n_rows, 100);
    assert_true(h.capacity >= 100);
    assert_int_equal(app_history_append(&h, 0, 0, 0, NULL, 0, 0, 0, NULL), APP_IO_ERR_INVALID);
    app_history_truncate(&h, 60);
    assert_int_equal(h.n_rows, 60);
    assert_int_equal(app_history_write_csv(tpath(p, "history.csv"), &h, err, sizeof err),
                     APP_IO_OK);

    FILE *f = fopen(p, "r");
    assert_non_null(f);
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(
        line, "iteration,evaluations,objective,volume,\"bin,arity\",violation,step,time,mu\n");
    int r = 0;
    while (fgets(line, sizeof line, f)) {
        char *s = line, *end;
        assert_int_equal(strtoll(s, &end, 10), r);
        s = end + 1;
        assert_int_equal(strtoll(s, &end, 10), 3 * r + 1);
        for (int j = 0; j < 7; j++) {
            s = end + 1;
            double v = strtod(s, &end);
            // %.17g round-trips every double exactly
            assert_memory_equal(&v, &vals[r][j], sizeof v);
        }
        assert_int_equal(*end, '\n');
        r++;
    }
    fclose(f);
    assert_int_equal(r, 60);
    app_history_free(&h);
    app_history_free(&h); // zeroed: a second free is harmless
    assert_int_equal(app_history_init(&h, 1, NULL, 0, NULL, 0), APP_IO_ERR_INVALID);
    app_history_free(&h);
}

/* In a child limited to 512-byte files (a full disk, as far as the writer can tell): writing
 * the history CSV (12 kB: stdio reports the error while writing) and a PNG (under 4 kB: it
 * reports it only when the file is closed) fails with a message naming the file, and the
 * previous file under that name stays whole, with no temporary file left behind. Exit code
 * 0 when all of that holds, else the number of the check that failed. */
static int write_fails_in_child(const char *csv, const char *png, const app_history *h)
{
    signal(SIGXFSZ, SIG_IGN); // a write past the limit fails with EFBIG instead of a signal
    struct rlimit lim = {512, 512};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 1;
    char err[256] = "", tmp[600];
    if (app_history_write_csv(csv, h, err, sizeof err) != APP_IO_ERR_IO) return 2;
    if (!strstr(err, csv) || !strstr(err, "write failed")) return 3;
    double rho[40 * 40];
    uint64_t seed = 11;
    for (int i = 0; i < 40 * 40; i++)
        rho[i] = test_uniform(&seed); // noise: the PNG stays near its 1.6 kB of pixels
    err[0] = '\0';
    if (app_png_write_density(png, rho, 40, 40, 1, 0, 0, err, sizeof err) != APP_IO_ERR_IO)
        return 4;
    if (!strstr(err, png)) return 5;
    snprintf(tmp, sizeof tmp, "%s.tmp", csv);
    if (access(tmp, F_OK) == 0) return 6;
    snprintf(tmp, sizeof tmp, "%s.tmp", png);
    if (access(tmp, F_OK) == 0) return 7;
    return 0;
}

static void test_write_error_keeps_old(void **state)
{
    (void)state;
    char csv[512], png[512], err[256];
    app_history h;
    assert_int_equal(app_history_init(&h, 0, NULL, 0, NULL, 8), APP_IO_OK);
    assert_int_equal(app_history_append(&h, 0, 1, 2.5, NULL, 0, 0, 0, NULL), APP_IO_OK);
    assert_int_equal(app_history_write_csv(tpath(csv, "full.csv"), &h, err, sizeof err), APP_IO_OK);
    const double one[4] = {1, 1, 1, 1};
    assert_int_equal(
        app_png_write_density(tpath(png, "full.png"), one, 2, 2, 1, 0, 0, err, sizeof err),
        APP_IO_OK);
    size_t nc0 = 0, np0 = 0, nc1 = 0, np1 = 0;
    unsigned char *c0 = test_read_file(csv, &nc0), *p0 = test_read_file(png, &np0);
    for (int r = 1; r < 200; r++)
        assert_int_equal(app_history_append(&h, r, r + 1, 1.0 / 3.0 + r, NULL, 0.1, 0.2, 0.3, NULL),
                         APP_IO_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(write_fails_in_child(csv, png, &h));
    int wst = 0;
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    assert_true(WIFEXITED(wst));
    if (WEXITSTATUS(wst) != 0)
        fail_msg("check %d failed in the size-limited child", WEXITSTATUS(wst));
    unsigned char *c1 = test_read_file(csv, &nc1), *p1 = test_read_file(png, &np1);
    assert_int_equal(nc0, nc1);
    assert_memory_equal(c0, c1, nc0);
    assert_int_equal(np0, np1);
    assert_memory_equal(p0, p1, np0);
    free(c0);
    free(c1);
    free(p0);
    free(p1);
    app_history_free(&h);
}

static void test_mkdirs(void **state)
{
    (void)state;
    char p[512], err[256];
    assert_int_equal(app_io_mkdirs(tpath(p, "a/b/c"), err, sizeof err), APP_IO_OK);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(app_io_mkdirs(p, err, sizeof err), APP_IO_OK); // exists already
    assert_int_equal(app_io_mkdirs(tpath(p, "a/b/c/"), err, sizeof err), APP_IO_OK);
    spit(tpath(p, "afile"), "x", 1);
    err[0] = '\0';
    assert_int_equal(app_io_mkdirs(tpath(p, "afile/sub"), err, sizeof err), APP_IO_ERR_IO);
    assert_true(strlen(err) > 0);
    assert_int_equal(app_io_mkdirs("", err, sizeof err), APP_IO_ERR_INVALID);
}

/* ---------------------------------------------------------------------------------------- */
/* HDF5                                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* A result with every field set, from seed; arrays are malloc'd (free with app_result_free). */
static void make_result(app_result *r, uint64_t seed, int W, int H)
{
    memset(r, 0, sizeof *r);
    r->W = W;
    r->H = H;
    size_t n = (size_t)W * (size_t)H;
    double **dens[4] = {&r->rho_raw, &r->rho_filtered, &r->rho_physical, &r->strain_energy};
    for (int k = 0; k < 4; k++) {
        *dens[k] = malloc(n * sizeof(double));
        assert_non_null(*dens[k]);
        for (size_t i = 0; i < n; i++)
            (*dens[k])[i] = test_uniform(&seed);
    }
    // values whose bits must survive: -0, a subnormal, huge, tiny, and inf in a history column
    r->rho_raw[0] = -0.0;
    r->rho_raw[1] = 4.9406564584124654e-324;
    r->strain_energy[0] = 1.7976931348623157e308;
    r->ndof = 2 * (W + 1) * (H + 1);
    r->n_load_cases = 2;
    r->displacement = malloc((size_t)r->ndof * 2 * sizeof(double));
    assert_non_null(r->displacement);
    for (int i = 0; i < 2 * r->ndof; i++)
        r->displacement[i] = (test_uniform(&seed) - 0.5) * 1e-3;
    r->n_params = 37;
    r->theta = malloc(r->n_params * sizeof(double));
    assert_non_null(r->theta);
    for (size_t i = 0; i < r->n_params; i++)
        r->theta[i] = test_uniform(&seed) - 0.5;
    const char *cn[3] = {"volume", "binarity", "symmetry"};
    const char *xn[2] = {"mu", "stationarity"};
    assert_int_equal(app_history_init(&r->history, 3, cn, 2, xn, 4), APP_IO_OK);
    for (int row = 0; row < 11; row++) {
        double c[3] = {test_uniform(&seed), -test_uniform(&seed), 1e-300};
        double x[2] = {pow(0.5, row), row == 3 ? INFINITY : test_uniform(&seed)};
        assert_int_equal(app_history_append(&r->history, row, ((int64_t)1 << 33) + 2 * row,
                                            100.0 / (row + 1), c, test_uniform(&seed), 0.1 * row,
                                            0.01 * row, x),
                         APP_IO_OK);
    }
    r->config_text = strdup("problem: mbb_beam_96x32\nmethod: bfgs-sqp\n# ünïcödé ✓\n");
    r->compliance = 123.456789012345678;
    r->volume_fraction = 0.4;
    r->status_code = 3;
    r->status = strdup("budget");
    r->version = strdup("topopt 0.1.0");
    r->seed = 0xFFFFFFFFFFFFFFF1ull; // needs all 64 bits
    r->config_name = strdup("mbb_beam");
    r->method = strdup("bfgs-sqp");
    r->parameterization = strdup("cnn");
    r->mirror_left = 1;
    r->mirror_right = 0;
    app_checkpoint *k = &r->checkpoint;
    k->present = 1;
    k->n_counters = 3;
    k->counters = malloc(3 * sizeof(int64_t));
    k->n_words = 4;
    k->words = malloc(4 * sizeof(uint64_t));
    k->n_solver_state = 50;
    k->solver_state = malloc(50 * sizeof(double));
    k->n_extra = 5;
    k->extra = malloc(5 * sizeof(double));
    assert_true(k->counters && k->words && k->solver_state && k->extra);
    k->counters[0] = 11;
    k->counters[1] = -5;
    k->counters[2] = INT64_MAX;
    for (int i = 0; i < 4; i++)
        k->words[i] = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
    for (int i = 0; i < 50; i++)
        k->solver_state[i] = test_uniform(&seed) * 1e10;
    for (int i = 0; i < 5; i++)
        k->extra[i] = -test_uniform(&seed);
}

#define assert_bits_equal(a, b, n)                                                                 \
    do {                                                                                           \
        assert_non_null(a);                                                                        \
        assert_non_null(b);                                                                        \
        assert_memory_equal((a), (b), (n) * sizeof *(a));                                          \
    } while (0)

static void assert_result_equal(const app_result *a, const app_result *b)
{
    assert_int_equal(a->W, b->W);
    assert_int_equal(a->H, b->H);
    size_t n = (size_t)a->W * (size_t)a->H;
    assert_bits_equal(a->rho_raw, b->rho_raw, n);
    assert_bits_equal(a->rho_filtered, b->rho_filtered, n);
    assert_bits_equal(a->rho_physical, b->rho_physical, n);
    assert_bits_equal(a->strain_energy, b->strain_energy, n);
    assert_int_equal(a->ndof, b->ndof);
    assert_int_equal(a->n_load_cases, b->n_load_cases);
    assert_bits_equal(a->displacement, b->displacement, (size_t)a->ndof * (size_t)a->n_load_cases);
    assert_int_equal(a->n_params, b->n_params);
    assert_bits_equal(a->theta, b->theta, a->n_params);
    const app_history *x = &a->history, *y = &b->history;
    assert_int_equal(x->n_rows, y->n_rows);
    assert_int_equal(x->n_constraints, y->n_constraints);
    assert_int_equal(x->n_extra, y->n_extra);
    for (int j = 0; j < x->n_constraints; j++)
        assert_string_equal(x->constraint_names[j], y->constraint_names[j]);
    for (int j = 0; j < x->n_extra; j++)
        assert_string_equal(x->extra_names[j], y->extra_names[j]);
    size_t rows = (size_t)x->n_rows;
    if (rows > 0) {
        assert_bits_equal(x->iteration, y->iteration, rows);
        assert_bits_equal(x->evaluations, y->evaluations, rows);
        assert_bits_equal(x->objective, y->objective, rows);
        assert_bits_equal(x->violation, y->violation, rows);
        assert_bits_equal(x->step, y->step, rows);
        assert_bits_equal(x->time, y->time, rows);
        if (x->n_constraints > 0)
            assert_bits_equal(x->constraints, y->constraints, rows * (size_t)x->n_constraints);
        if (x->n_extra > 0) assert_bits_equal(x->extra, y->extra, rows * (size_t)x->n_extra);
    }
    assert_string_equal(a->config_text, b->config_text);
    assert_memory_equal(&a->compliance, &b->compliance, sizeof(double));
    assert_memory_equal(&a->volume_fraction, &b->volume_fraction, sizeof(double));
    assert_int_equal(a->status_code, b->status_code);
    assert_string_equal(a->status, b->status);
    assert_string_equal(a->version, b->version);
    assert_true(a->seed == b->seed);
    assert_string_equal(a->config_name, b->config_name);
    assert_string_equal(a->method, b->method);
    assert_string_equal(a->parameterization, b->parameterization);
    assert_int_equal(a->mirror_left, b->mirror_left);
    assert_int_equal(a->mirror_right, b->mirror_right);
    const app_checkpoint *k = &a->checkpoint, *l = &b->checkpoint;
    assert_int_equal(k->present, l->present);
    assert_int_equal(k->n_counters, l->n_counters);
    assert_int_equal(k->n_words, l->n_words);
    assert_int_equal(k->n_solver_state, l->n_solver_state);
    assert_int_equal(k->n_extra, l->n_extra);
    if (k->n_counters) assert_bits_equal(k->counters, l->counters, k->n_counters);
    if (k->n_words) assert_bits_equal(k->words, l->words, k->n_words);
    if (k->n_solver_state) assert_bits_equal(k->solver_state, l->solver_state, k->n_solver_state);
    if (k->n_extra) assert_bits_equal(k->extra, l->extra, k->n_extra);
}

static void test_h5_roundtrip(void **state)
{
    (void)state;
    char p[512], err[256] = "";
    app_result a, b;
    make_result(&a, 1, 7, 4); // W != H so a transposed layout would be caught
    assert_int_equal(app_h5_write(tpath(p, "result.h5"), &a, err, sizeof err), APP_IO_OK);
    assert_false(file_exists(tpath(p, "result.h5.tmp")));
    assert_int_equal(app_h5_read(tpath(p, "result.h5"), &b, err, sizeof err), APP_IO_OK);
    assert_result_equal(&a, &b);
    // appending to a read-back history works (capacity == n_rows after a read)
    double c[3] = {1, 2, 3}, x[2] = {4, 5};
    assert_int_equal(app_history_append(&b.history, 99, 99, 1.0, c, 0, 0, 0, x), APP_IO_OK);
    assert_int_equal(b.history.n_rows, a.history.n_rows + 1);
    app_result_free(&b);
    app_result_free(&b); // zeroed: harmless

    // Check the layout with the HDF5 API directly: density is [H][W], row 0 = top.
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "/density/physical", H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    assert_int_equal(H5Sget_simple_extent_ndims(sp), 2);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    assert_int_equal(dims[0], 4);
    assert_int_equal(dims[1], 7);
    // element (ex = 5, ey = 2) is rho[2*W + 5]
    hsize_t start[2] = {2, 5}, count[2] = {1, 1};
    H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, count, NULL);
    hsize_t one = 1;
    hid_t ms = H5Screate_simple(1, &one, NULL);
    double v = 0;
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, ms, sp, H5P_DEFAULT, &v) >= 0);
    assert_memory_equal(&v, &a.rho_physical[2 * 7 + 5], sizeof v);
    H5Sclose(ms);
    H5Sclose(sp);
    H5Dclose(d);
    const char *must[] = {"/config",       "/fem/displacement",        "/fem/strain_energy",
                          "/params/theta", "/history/objective",       "/history/constraints",
                          "/history/time", "/checkpoint/solver_state", "/density/raw"};
    for (size_t i = 0; i < sizeof must / sizeof *must; i++)
        assert_true(H5Oexists_by_name(f, must[i], H5P_DEFAULT) > 0);
    H5Fclose(f);
    app_result_free(&a);
}

/* Only the grid and the physical density: every other field reads back absent. */
static void test_h5_minimal(void **state)
{
    (void)state;
    char p[512], err[256] = "";
    double rho[6] = {0, 0.2, 0.4, 0.6, 0.8, 1};
    app_result a, b;
    memset(&a, 0, sizeof a);
    a.W = 3;
    a.H = 2;
    a.rho_physical = rho;
    assert_int_equal(app_h5_write(tpath(p, "min.h5"), &a, err, sizeof err), APP_IO_OK);
    assert_int_equal(app_h5_read(p, &b, err, sizeof err), APP_IO_OK);
    assert_int_equal(b.W, 3);
    assert_int_equal(b.H, 2);
    assert_memory_equal(b.rho_physical, rho, sizeof rho);
    assert_null(b.rho_raw);
    assert_null(b.rho_filtered);
    assert_null(b.displacement);
    assert_null(b.strain_energy);
    assert_null(b.theta);
    assert_null(b.config_text);
    assert_null(b.status);
    assert_int_equal(b.history.n_rows, 0);
    assert_int_equal(b.checkpoint.present, 0);
    app_result_free(&b);

    // named history columns with zero rows and an empty checkpoint survive too
    const char *cn[1] = {"volume"};
    assert_int_equal(app_history_init(&a.history, 1, cn, 0, NULL, 0), APP_IO_OK);
    a.checkpoint.present = 1;
    a.config_text = "";
    a.status = "";
    assert_int_equal(app_h5_write(p, &a, err, sizeof err), APP_IO_OK);
    assert_int_equal(app_h5_read(p, &b, err, sizeof err), APP_IO_OK);
    assert_int_equal(b.history.n_rows, 0);
    assert_int_equal(b.history.n_constraints, 1);
    assert_string_equal(b.history.constraint_names[0], "volume");
    assert_int_equal(b.checkpoint.present, 1);
    assert_int_equal(b.checkpoint.n_solver_state, 0);
    assert_string_equal(b.config_text, "");
    assert_string_equal(b.status, "");
    app_result_free(&b);
    app_history_free(&a.history);
}

static void test_h5_invalid_struct(void **state)
{
    (void)state;
    char p[512], err[256];
    double rho[4] = {0};
    app_result a;
    memset(&a, 0, sizeof a);
    a.W = 0;
    a.H = 2;
    a.rho_physical = rho;
    err[0] = '\0';
    assert_int_equal(app_h5_write(tpath(p, "inv.h5"), &a, err, sizeof err), APP_IO_ERR_INVALID);
    assert_err_has(err, "grid");
    a.W = 2;
    a.n_params = 3; // but theta NULL
    assert_int_equal(app_h5_write(p, &a, err, sizeof err), APP_IO_ERR_INVALID);
    a.n_params = 0;
    a.history.n_rows = 2; // rows but no columns
    assert_int_equal(app_h5_write(p, &a, err, sizeof err), APP_IO_ERR_INVALID);
    a.history.n_rows = 0;
    a.displacement = rho; // ndof 0
    assert_int_equal(app_h5_write(p, &a, err, sizeof err), APP_IO_ERR_INVALID);
    assert_false(file_exists(p));
    assert_false(file_exists(tpath(p, "inv.h5.tmp")));
    assert_int_equal(app_h5_write(NULL, &a, err, sizeof err), APP_IO_ERR_INVALID);
    assert_int_equal(app_h5_write(p, NULL, NULL, 0), APP_IO_ERR_INVALID);
}

/* A second write replaces the file; a failed one leaves the previous file intact. */
static void test_h5_atomic(void **state)
{
    (void)state;
    char p[512], t[512], err[256] = "";
    app_result a, b, c;
    make_result(&a, 11, 6, 3);
    make_result(&b, 12, 6, 3);
    assert_int_equal(app_h5_write(tpath(p, "ck.h5"), &a, err, sizeof err), APP_IO_OK);
    assert_int_equal(app_h5_write(p, &b, err, sizeof err), APP_IO_OK); // overwrite
    assert_int_equal(app_h5_read(p, &c, err, sizeof err), APP_IO_OK);
    assert_result_equal(&b, &c);
    app_result_free(&c);

    // temp file cannot be created (a directory is in the way): error, old file intact
    assert_int_equal(mkdir(tpath(t, "ck.h5.tmp"), 0700), 0);
    err[0] = '\0';
    assert_int_equal(app_h5_write(p, &a, err, sizeof err), APP_IO_ERR_IO);
    assert_err_has(err, "ck.h5");
    assert_int_equal(app_h5_read(p, &c, err, sizeof err), APP_IO_OK);
    assert_result_equal(&b, &c);
    app_result_free(&c);
    rmdir(t);

    // a directory that does not exist
    err[0] = '\0';
    assert_int_equal(app_h5_write(tpath(t, "nodir/ck.h5"), &a, err, sizeof err), APP_IO_ERR_IO);
    assert_err_has(err, "nodir");

    // a read-only directory (root ignores permissions, so only when not root)
    if (geteuid() != 0) {
        assert_int_equal(mkdir(tpath(t, "ro"), 0700), 0);
        char q[1024];
        snprintf(q, sizeof q, "%s/ck.h5", t);
        assert_int_equal(app_h5_write(q, &a, err, sizeof err), APP_IO_OK);
        assert_int_equal(chmod(t, 0500), 0);
        assert_int_equal(app_h5_write(q, &b, err, sizeof err), APP_IO_ERR_IO);
        assert_int_equal(app_h5_read(q, &c, err, sizeof err), APP_IO_OK);
        assert_result_equal(&a, &c);
        app_result_free(&c);
        chmod(t, 0700);
    }
    app_result_free(&a);
    app_result_free(&b);
}

/* Missing, foreign, corrupt and truncated files: an error with a message, never a crash. */
static void test_h5_bad_files(void **state)
{
    (void)state;
    char p[512], err[256];
    app_result r;
    err[0] = '\0';
    assert_int_equal(app_h5_read(tpath(p, "missing.h5"), &r, err, sizeof err), APP_IO_ERR_IO);
    assert_err_has(err, "missing.h5");
    assert_null(r.rho_physical);

    static const char junk[] = "\x89HDF\r\n\x1a\n garbage after the signature";
    spit(tpath(p, "junk.h5"), junk, sizeof junk - 1);
    err[0] = '\0';
    assert_true(app_h5_read(p, &r, err, sizeof err) < 0);
    assert_true(strlen(err) > 0);
    spit(tpath(p, "text.h5"), "hello", strlen("hello"));
    assert_int_equal(app_h5_read(p, &r, err, sizeof err), APP_IO_ERR_FORMAT);

    // an HDF5 file that is not ours; in the default (superblock 0, unchecksummed) format it is
    // refused before HDF5 parses it, in the 1.8 format for lacking the format attribute
    hid_t f = H5Fcreate(tpath(p, "foreign.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    H5Fclose(f);
    err[0] = '\0';
    assert_int_equal(app_h5_read(p, &r, err, sizeof err), APP_IO_ERR_FORMAT);
    assert_err_has(err, "without metadata checksums");
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    f = H5Fcreate(tpath(p, "foreign18.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    assert_true(f >= 0);
    H5Fclose(f);
    err[0] = '\0';
    assert_int_equal(app_h5_read(p, &r, err, sizeof err), APP_IO_ERR_FORMAT);
    assert_err_has(err, "format");

    // truncated copies of a valid file
    app_result a;
    make_result(&a, 5, 8, 5);
    assert_int_equal(app_h5_write(tpath(p, "full.h5"), &a, err, sizeof err), APP_IO_OK);
    app_result_free(&a);
    size_t n = 0;
    unsigned char *bytes = test_read_file(p, &n);
    const double cut[] = {0.1, 0.5, 0.9, 0.99};
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
        spit(tpath(p, "cut.h5"), bytes, (size_t)(cut[i] * (double)n));
        err[0] = '\0';
        assert_true(app_h5_read(p, &r, err, sizeof err) < 0);
        assert_true(strlen(err) > 0);
        assert_null(r.rho_physical);
    }
    // flipped bytes in the middle (dataset payload or metadata): error or clean read, no crash;
    // in a child that ends with _exit (HDF5 leaks on refused damaged headers, see
    // test_h5_checksum), which AddressSanitizer aborts on a memory error
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    for (size_t off = 64; pid == 0 && off < n; off += n / 13) {
        unsigned char *m = malloc(n);
        assert_non_null(m);
        memcpy(m, bytes, n);
        for (size_t j = off; j < off + 16 && j < n; j++)
            m[j] ^= 0xA5;
        spit(tpath(p, "flip.h5"), m, n);
        free(m);
        if (app_h5_read(p, &r, err, sizeof err) == APP_IO_OK) app_result_free(&r);
    }
    if (pid == 0) _exit(0);
    free(bytes);

    // inconsistent metadata: W attribute changed so /density no longer matches
    make_result(&a, 6, 8, 5);
    assert_int_equal(app_h5_write(tpath(p, "incons.h5"), &a, err, sizeof err), APP_IO_OK);
    app_result_free(&a);
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t at = H5Aopen(f, "W", H5P_DEFAULT);
    int w9 = 9;
    assert_true(H5Awrite(at, H5T_NATIVE_INT, &w9) >= 0);
    H5Aclose(at);
    H5Fclose(f);
    err[0] = '\0';
    assert_int_equal(app_h5_read(p, &r, err, sizeof err), APP_IO_ERR_FORMAT);
    assert_err_has(err, "density");
    assert_null(r.rho_raw);
}

/* Hostile files (issue: a 2.7 KB result.h5 gave a heap overflow in render and --resume):
 * declared sizes that overflow, that ask for GBs, wrong types, filters, NUL bytes, vlen
 * strings. Each is refused with a format error naming the file and the object, before any
 * allocation (ASan would report the overflow or the 8/17 GB request). */
static void test_h5_hostile(void **state)
{
    (void)state;
    char p[512], png[512], err[512];
    app_result r;
    struct {
        h5_craft_spec s;
        const char *what;
    } cases[] = {
        // [2^21, 2^40] doubles: 2^64 bytes, the product wrapped to 0 before
        {{4, 3, 1, "fem", "displacement", 2, {1ull << 21, 1ull << 40}, 1, 0, 0, NULL, 0, 0},
         "fem/displacement"},
        // 2^62 doubles: the byte count itself overflows
        {{4, 3, 1, "params", "theta", 1, {1ull << 62, 0}, 1, 0, 0, NULL, 0, 0}, "2^64"},
        // 2^30 doubles (8 GiB) in a 1-D dataset
        {{4, 3, 1, "params", "theta", 1, {1ull << 30, 0}, 1, 0, 0, NULL, 0, 0}, "params/theta"},
        // a 46340 x 46340 grid: 17 GB per density
        {{46340, 46340, 1, "density", "physical", 2, {46340, 46340}, 1, 0, 0, NULL, 0, 0},
         "density/physical"},
        // the displacement must be [n_load_cases][2 (W+1)(H+1)]
        {{4, 3, 1, "fem", "displacement", 2, {1, 7}, 0, 0, 0, NULL, 0, 0}, "fem/displacement"},
        // a small but compressed dataset (a decompression bomb needs a filter)
        {{4, 3, 1, "density", "physical", 2, {3, 4}, 0, 1, 0, NULL, 0, 0}, "density/physical"},
        // wrong attribute types and strings
        {{4, 3, 1, NULL, NULL, 0, {0, 0}, 0, 0, 1, NULL, 0, 0},
         "attribute W: expected one integer"},
        {{4, 3, 1, NULL, NULL, 0, {0, 0}, 0, 0, 0, "ok\0evil", 7, 0}, "NUL"},
        {{4, 3, 1, NULL, NULL, 0, {0, 0}, 0, 0, 0, "vlen", 4, 1}, "fixed-length"},
        // format_version 2 requires the checksum
        {{4, 3, 2, NULL, NULL, 0, {0, 0}, 0, 0, 0, NULL, 0, 0}, "checksum"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[32];
        snprintf(name, sizeof name, "hostile%zu.h5", i);
        assert_int_equal(h5_craft(tpath(p, name), &cases[i].s), 0);
        struct stat sb;
        assert_int_equal(stat(p, &sb), 0);
        assert_true(sb.st_size < 16384); // the whole attack fits in a few KB
        err[0] = '\0';
        assert_int_equal(app_h5_read(p, &r, err, sizeof err), APP_IO_ERR_FORMAT);
        assert_err_has(err, name);
        assert_err_has(err, cases[i].what);
        assert_null(r.rho_physical);
        assert_null(r.displacement);
        assert_null(r.theta);
        // render reads the same way: a clean error, no picture
        err[0] = '\0';
        assert_int_equal(app_result_render_png(p, tpath(png, "hostile.png"), 0, err, sizeof err),
                         APP_IO_ERR_FORMAT);
        assert_err_has(err, cases[i].what);
        assert_false(file_exists(png));
    }
}

/* app_h5_read_image (a file held in memory; the fuzz target reads this way) is app_h5_read:
 * the same data from a valid file, the same status and message for truncated, damaged,
 * hostile and foreign files. */
static void read_both(const char *p, app_io_status *st, char *err, size_t errlen)
{
    app_result a, b;
    char err2[512];
    size_t n = 0;
    unsigned char *bytes = test_read_file(p, &n);
    err[0] = err2[0] = '\0';
    *st = app_h5_read(p, &a, err, errlen);
    app_io_status st2 = app_h5_read_image(p, bytes, n, &b, err2, sizeof err2);
    free(bytes);
    assert_int_equal(st2, *st);
    assert_string_equal(err2, err);
    if (*st == APP_IO_OK) {
        assert_result_equal(&a, &b);
        assert_true(app_result_checksum(&a) == app_result_checksum(&b));
        app_result_free(&a);
        app_result_free(&b);
    } else {
        assert_null(b.rho_physical);
        assert_null(b.theta);
    }
}

static void test_h5_image(void **state)
{
    (void)state;
    char p[512], err[512];
    app_io_status st;
    app_result a;
    make_result(&a, 31, 7, 4);
    assert_int_equal(app_h5_write(tpath(p, "img.h5"), &a, err, sizeof err), APP_IO_OK);
    app_result_free(&a);
    read_both(p, &st, err, sizeof err);
    assert_int_equal(st, APP_IO_OK);
    size_t n = 0;
    unsigned char *bytes = test_read_file(p, &n);
    const double cut[] = {0.0, 0.1, 0.5, 0.99};
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
        spit(tpath(p, "img_cut.h5"), bytes, (size_t)(cut[i] * (double)n));
        read_both(p, &st, err, sizeof err);
        assert_int_equal(st, APP_IO_ERR_FORMAT);
    }
    // damaged bytes: the same outcome on both paths; in a child that ends with _exit (HDF5
    // leaks on refused damaged headers, see test_h5_checksum)
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (size_t off = 0; off < n; off += 97) {
            bytes[off] ^= 0x5A;
            spit(tpath(p, "img_flip.h5"), bytes, n);
            bytes[off] ^= 0x5A;
            read_both(p, &st, err, sizeof err);
        }
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(bytes);
    h5_craft_spec s = {4, 3,    1, "fem", "displacement", 2, {1ull << 21, 1ull << 40}, 1, 0,
                       0, NULL, 0, 0};
    assert_int_equal(h5_craft(tpath(p, "img_hostile.h5"), &s), 0);
    read_both(p, &st, err, sizeof err);
    assert_int_equal(st, APP_IO_ERR_FORMAT);
    assert_err_has(err, "fem/displacement");
    spit(tpath(p, "img_text.h5"), "hello", 5);
    read_both(p, &st, err, sizeof err);
    assert_int_equal(st, APP_IO_ERR_FORMAT);
    app_result r;
    assert_int_equal(app_h5_read_image("x.h5", NULL, 0, &r, err, sizeof err), APP_IO_ERR_FORMAT);
    assert_int_equal(app_h5_read_image("x.h5", NULL, 5, &r, err, sizeof err), APP_IO_ERR_INVALID);
}

/* Version-2 files carry a checksum over all data: any damaged byte of a checksummed value is
 * refused; a read that succeeds returns exactly the data written. */
static void test_h5_checksum(void **state)
{
    (void)state;
    char p[512], err[512];
    app_result a, r;
    make_result(&a, 5, 8, 5);
    a.config_keys = "problem.volfrac: 0.5\n";
    a.config_hash = app_fnv1a64(APP_FNV1A64_INIT, a.config_keys, strlen(a.config_keys));
    assert_int_equal(app_h5_write(tpath(p, "ck.h5"), &a, err, sizeof err), APP_IO_OK);
    uint64_t want = app_result_checksum(&a);
    assert_int_equal(app_h5_read(p, &r, err, sizeof err), APP_IO_OK);
    assert_true(app_result_checksum(&r) == want);
    assert_string_equal(r.config_keys, a.config_keys);
    assert_true(r.config_hash == a.config_hash);
    app_result_free(&r);
    a.config_keys = NULL;
    app_result_free(&a);
    size_t n = 0;
    unsigned char *bytes = test_read_file(p, &n);
    // HDF5 1.10 leaks a metadata-cache entry whenever it refuses a damaged header (and then
    // cannot release its free lists at H5close): the damaged reads run in a child that ends
    // with _exit, so LeakSanitizer keeps judging this program's own frees in the parent.
    // AddressSanitizer still aborts the child (non-zero status) on any memory error.
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        int counts[3] = {0, 0, 0}, status = 0;
        close(fds[1]);
        ssize_t got = read(fds[0], counts, sizeof counts);
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(got, (ssize_t)sizeof counts);
        print_message("checksum: %d of %d damaged copies refused, %d read unchanged data\n",
                      counts[0], counts[0] + counts[1], counts[1]);
        assert_int_equal(counts[2], 0); // damaged data read as valid
        assert_true(counts[0] > 0);
        free(bytes);
        return;
    }
    close(fds[0]);
    int refused = 0, clean = 0, bad = 0;
    for (size_t off = 0; off < n; off += 7) {
        bytes[off] ^= 0x5A;
        spit(tpath(p, "ck_flip.h5"), bytes, n);
        bytes[off] ^= 0x5A;
        err[0] = '\0';
        if (app_h5_read(p, &r, err, sizeof err) == APP_IO_OK) {
            // the damage hit bytes that carry no value (padding, free space): same data
            if (app_result_checksum(&r) != want) bad++;
            app_result_free(&r);
            clean++;
        } else {
            // a message, without HDF5 internals (addresses) in it
            if (!err[0] || strstr(err, "0x")) bad++;
            refused++;
        }
    }
    int counts[3] = {refused, clean, bad};
    ssize_t put = write(fds[1], counts, sizeof counts);
    _exit(put == (ssize_t)sizeof counts ? 0 : 1);
}

/* render: result.h5 -> PNG equals the picture written directly from the same density. */
static void test_render(void **state)
{
    (void)state;
    char p[512], q[512], s[512], err[256] = "";
    app_result a;
    make_result(&a, 21, 9, 4);
    a.mirror_left = 0;
    a.mirror_right = 1;
    assert_int_equal(app_h5_write(tpath(p, "r.h5"), &a, err, sizeof err), APP_IO_OK);
    assert_int_equal(app_result_render_png(p, tpath(q, "r.png"), 3, err, sizeof err), APP_IO_OK);
    assert_int_equal(app_png_write_density(tpath(s, "direct.png"), a.rho_physical, 9, 4, 3, 0, 1,
                                           err, sizeof err),
                     APP_IO_OK);
    unsigned char *x = NULL, *y = NULL;
    int wx, hx, wy, hy;
    assert_int_equal(app_png_read_gray(q, &x, &wx, &hx, err, sizeof err), APP_IO_OK);
    assert_int_equal(app_png_read_gray(s, &y, &wy, &hy, err, sizeof err), APP_IO_OK);
    assert_int_equal(wx, 2 * 9 * 3);
    assert_int_equal(hx, 4 * 3);
    assert_int_equal(wx, wy);
    assert_int_equal(hx, hy);
    assert_memory_equal(x, y, (size_t)wx * (size_t)hx);
    free(x);
    free(y);
    app_result_free(&a);
    // a result without a physical density cannot be rendered
    double rho[2] = {0, 1};
    memset(&a, 0, sizeof a);
    a.W = 2;
    a.H = 1;
    a.rho_raw = rho;
    assert_int_equal(app_h5_write(p, &a, err, sizeof err), APP_IO_OK);
    err[0] = '\0';
    assert_int_equal(app_result_render_png(p, q, 0, err, sizeof err), APP_IO_ERR_FORMAT);
    assert_err_has(err, "physical");
    // a missing input is the caller's (FORMAT), a picture that cannot be written is IO
    assert_int_equal(app_result_render_png(tpath(p, "none.h5"), q, 0, err, sizeof err),
                     APP_IO_ERR_FORMAT);
    assert_err_has(err, "none.h5");
    make_result(&a, 5, 8, 5);
    assert_int_equal(app_h5_write(tpath(p, "good.h5"), &a, err, sizeof err), APP_IO_OK);
    app_result_free(&a);
    assert_int_equal(app_result_render_png(p, tpath(q, "no_dir/x.png"), 0, err, sizeof err),
                     APP_IO_ERR_IO);
}

/* Three threads writing and reading their own result files at once: every round trip must
 * still be exact. A smoke test only: with Debian's thread-safe HDF5 build it also passes
 * without the layer's own mutex (which is there for non-thread-safe HDF5 builds). */
typedef struct {
    int id;
    int failures;
} thread_job;

static void *h5_thread(void *arg)
{
    thread_job *job = arg;
    char p[512], q[512], err[256];
    snprintf(p, sizeof p, "%s/thread%d.h5", g_dir, job->id);
    snprintf(q, sizeof q, "%s/thread%d.png", g_dir, job->id);
    enum { TW = 40, TH = 30 };
    double *rho = malloc(sizeof(double) * TW * TH);
    if (!rho) {
        job->failures++;
        return NULL;
    }
    for (int it = 0; it < 30; it++) {
        app_result a, b;
        for (int i = 0; i < TW * TH; i++)
            rho[i] = job->id + 0.01 * it + 1e-6 * i;
        // a history with names exercises many small HDF5 objects per file
        const char *cn[2] = {"volume", "binarity"};
        memset(&a, 0, sizeof a);
        if (app_history_init(&a.history, 2, cn, 0, NULL, 8) != APP_IO_OK) {
            job->failures++;
            break;
        }
        for (int r = 0; r < 5; r++) {
            double c[2] = {r, -r};
            app_history_append(&a.history, r, r, 1.0 / (r + 1), c, 0, 0, 0, NULL);
        }
        a.W = TW;
        a.H = TH;
        a.rho_physical = rho;
        a.rho_raw = rho;
        a.seed = (uint64_t)job->id;
        a.status = "ok";
        if (app_h5_write(p, &a, err, sizeof err) != APP_IO_OK ||
            app_h5_read(p, &b, err, sizeof err) != APP_IO_OK) {
            job->failures++;
        } else {
            if (memcmp(b.rho_physical, rho, sizeof(double) * TW * TH) != 0 || b.seed != a.seed ||
                b.history.n_rows != 5)
                job->failures++;
            app_result_free(&b);
        }
        app_history_free(&a.history);
        if (app_png_write_density(q, rho, TW, TH, 2, 1, 1, err, sizeof err) != APP_IO_OK)
            job->failures++;
    }
    free(rho);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[3];
    thread_job jobs[3] = {{0, 0}, {1, 0}, {2, 0}};
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, h5_thread, &jobs[i]), 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].failures, 0);
    }
}

/* Odd paths: a directory given as the file, an empty history to CSV. */
static void test_odd_paths(void **state)
{
    (void)state;
    char p[512], err[256];
    app_result r;
    assert_int_equal(mkdir(tpath(p, "adir.h5"), 0700), 0);
    err[0] = '\0';
    assert_int_equal(app_h5_read(p, &r, err, sizeof err), APP_IO_ERR_IO);
    assert_err_has(err, "adir.h5");
    double rho[1] = {1};
    memset(&r, 0, sizeof r);
    r.W = r.H = 1;
    r.rho_physical = rho;
    // renaming a file onto a directory fails: error, and no temp file is left behind
    assert_int_equal(app_h5_write(p, &r, err, sizeof err), APP_IO_ERR_IO);
    assert_false(file_exists(tpath(p, "adir.h5.tmp")));

    app_history h;
    memset(&h, 0, sizeof h);
    assert_int_equal(app_history_write_csv(tpath(p, "empty.csv"), &h, err, sizeof err), APP_IO_OK);
    size_t n = 0;
    unsigned char *b = test_read_file(p, &n);
    const char want[] = "iteration,evaluations,objective,violation,step,time\n";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(b, want, n);
    free(b);
    assert_int_equal(app_history_write_csv(tpath(p, "no/dir.csv"), &h, err, sizeof err),
                     APP_IO_ERR_IO);
}

static void test_status_str(void **state)
{
    (void)state;
    assert_string_equal(app_io_status_str(APP_IO_OK), "ok");
    assert_string_equal(app_io_status_str(APP_IO_ERR_FORMAT), "unexpected file format");
    assert_string_equal(app_io_status_str((app_io_status)42), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_str),
        cmocka_unit_test(test_png_default_scale),
        cmocka_unit_test(test_png_values_orientation),
        cmocka_unit_test(test_png_scale_mirror),
        cmocka_unit_test(test_png_bad_input),
        cmocka_unit_test(test_png_atomic),
        cmocka_unit_test(test_history_csv),
        cmocka_unit_test(test_write_error_keeps_old),
        cmocka_unit_test(test_mkdirs),
        cmocka_unit_test(test_h5_roundtrip),
        cmocka_unit_test(test_h5_minimal),
        cmocka_unit_test(test_h5_invalid_struct),
        cmocka_unit_test(test_h5_atomic),
        cmocka_unit_test(test_h5_bad_files),
        cmocka_unit_test(test_h5_hostile),
        cmocka_unit_test(test_h5_image),
        cmocka_unit_test(test_h5_checksum),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_odd_paths),
    };
    return cmocka_run_group_tests_name("app_io", tests, group_setup, group_teardown);
}
