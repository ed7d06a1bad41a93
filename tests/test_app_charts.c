// tests/test_app_charts.c: the suite's pictures (app/charts.c): written, decoded with libpng (the
// app_export reader, not cairo), sizes as laid out, and values where the log axis puts them
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#include "charts.h"
#include "export.h"

static char g_dir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/test_app_charts.XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Five problems x two methods; NaN = missing. */
static const double RATIO[10] = {2.0, 1.5, 0.8, NAN, NAN, 1.1, 1.25, 0.9, 1.0, 3.0};
static const char *const NAMES[5] = {"p0", "p1", "p2", "p3", "p4"};
static const char *const SERIES[2] = {"cnn-lbfgs", "pixel-oc"};

static void test_chart_order_and_axis(void **state)
{
    (void)state;
    int order[5];
    app_chart_order(5, 2, RATIO, order);
    /* by series 0: 0.8 (p1), 1.0 (p4), 1.25 (p3), 2.0 (p0), missing (p2) last */
    static const int want[5] = {1, 4, 3, 0, 2};
    for (int k = 0; k < 5; k++)
        assert_int_equal(order[k], want[k]);
    app_chart_geom g;
    app_chart_geometry(5, 2, RATIO, &g);
    /* every ratio inside the plot area, larger ratios higher up */
    for (int i = 0; i < 10; i++)
        if (isfinite(RATIO[i])) {
            double y = app_chart_y(&g, RATIO[i]);
            assert_true(y > g.top && y < g.bottom);
        }
    assert_true(app_chart_y(&g, 3.0) < app_chart_y(&g, 1.0));
    /* a log axis: equal factors are equal distances */
    assert_close(app_chart_y(&g, 1.0) - app_chart_y(&g, 2.0),
                 app_chart_y(&g, 1.5) - app_chart_y(&g, 3.0), 1e-12, 1e-9);
    /* items evenly spread, first and last half a step from the frame */
    assert_close(app_chart_x(&g, 0, 5) - g.left, g.right - app_chart_x(&g, 4, 5), 1e-12, 1e-9);
    /* the range always holds 1, even when every ratio is above it */
    double high[2] = {4.0, 5.0};
    app_chart_geometry(1, 2, high, &g);
    assert_true(app_chart_y(&g, 1.0) < g.bottom && app_chart_y(&g, 1.0) > g.top);
}

static unsigned char px(const unsigned char *p, int w, double x, double y)
{
    return p[(size_t)lround(y) * w + lround(x)];
}

static void test_chart_pixels(void **state)
{
    (void)state;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/summary.png", g_dir);
    assert_int_equal(app_chart_ratios_png(path, NULL, 5, NAMES, 2, SERIES, RATIO, err, sizeof err),
                     APP_IO_OK);
    unsigned char *p;
    int w, h;
    assert_int_equal(app_png_read_gray(path, &p, &w, &h, err, sizeof err), APP_IO_OK);
    app_chart_geom g;
    app_chart_geometry(5, 2, RATIO, &g);
    assert_int_equal(w, g.width);
    assert_int_equal(h, g.height);
    int order[5];
    app_chart_order(5, 2, RATIO, order);
    double y1 = app_chart_y(&g, 1.0);
    /* the red line at 1 runs between the points (red is dark in grey), white a bit off it */
    for (int k = 0; k < 4; k++) {
        double x = 0.5 * (app_chart_x(&g, k, 5) + app_chart_x(&g, k + 1, 5));
        if (px(p, w, x, y1) >= 150) fail_msg("no line at ratio 1 at x=%g: %d", x, px(p, w, x, y1));
        if (px(p, w, x, y1 + 6) < 200) fail_msg("dark below the line at x=%g", x);
    }
    /* every point's marker (colour, dark in grey) sits where the log axis puts it, and the
     * column of the missing point is light apart from the line at 1 and the other marker */
    for (int k = 0; k < 5; k++) {
        int i = order[k];
        double x = app_chart_x(&g, k, 5);
        for (int j = 0; j < 2; j++) {
            double v = RATIO[i * 2 + j];
            if (!isfinite(v)) continue;
            if (px(p, w, x, app_chart_y(&g, v)) >= 200)
                fail_msg("no marker for item %d series %d (ratio %g)", i, j, v);
        }
    }
    double xm = app_chart_x(&g, 4, 5); /* p2: series 0 missing, series 1 at 1.1 */
    for (double y = g.top + 3; y < g.bottom - 3; y++) {
        if (fabs(y - y1) < 4 || fabs(y - app_chart_y(&g, 1.1)) < 7) continue;
        if (px(p, w, xm, y) < 200) fail_msg("a mark at y=%g in the column of a missing point", y);
    }
    free(p);
}

/* The title argument replaces the default title and nothing else: the two pictures differ
 * in the title's band (above the plot area) only. */
static void test_chart_title(void **state)
{
    (void)state;
    char pa[128], pb[128], err[256];
    snprintf(pa, sizeof pa, "%s/title_default.png", g_dir);
    snprintf(pb, sizeof pb, "%s/title_other.png", g_dir);
    assert_int_equal(app_chart_ratios_png(pa, NULL, 5, NAMES, 2, SERIES, RATIO, err, sizeof err),
                     APP_IO_OK);
    assert_int_equal(app_chart_ratios_png(pb, "our typical / the best of four", 5, NAMES, 2, SERIES,
                                          RATIO, err, sizeof err),
                     APP_IO_OK);
    unsigned char *a, *b;
    int wa, ha, wb, hb;
    assert_int_equal(app_png_read_gray(pa, &a, &wa, &ha, err, sizeof err), APP_IO_OK);
    assert_int_equal(app_png_read_gray(pb, &b, &wb, &hb, err, sizeof err), APP_IO_OK);
    assert_int_equal(wa, wb);
    assert_int_equal(ha, hb);
    app_chart_geom g;
    app_chart_geometry(5, 2, RATIO, &g);
    int band = (int)g.top, differ_above = 0;
    for (int y = 0; y < ha; y++)
        for (int x = 0; x < wa; x++) {
            int d = a[(size_t)y * wa + x] != b[(size_t)y * wa + x];
            if (y < band)
                differ_above += d;
            else if (d)
                fail_msg("pixel (%d, %d) below the title differs", x, y);
        }
    assert_true(differ_above > 50);
    free(a);
    free(b);
}

static void test_gallery(void **state)
{
    (void)state;
    /* three designs: all black 8x4, a white 16x16 with a black left half, grey 4x12 */
    unsigned char a[32], b[256], c[48];
    memset(a, 0, sizeof a);
    for (int i = 0; i < 256; i++)
        b[i] = (i % 16) < 8 ? 0 : 255;
    memset(c, 128, sizeof c);
    const unsigned char *const pics[3] = {a, b, c};
    const int w[3] = {8, 16, 4}, h[3] = {4, 16, 12};
    const char *const l1[3] = {"mbb_beam_96x32_0.5", "hoop_32x64_0.25", NULL};
    /* picture 0's second line is far wider than a cell: it must shrink, not spill over */
    const char *const l2[3] = {"cnn-lbfgs s0  1.012x  (best-of-4 1.030x) and a long tail of "
                               "words that would reach far into the next cell at full size",
                               "pixel-oc s1  0.998x", "x"};
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/gallery.png", g_dir);
    assert_int_equal(app_gallery_png(path, 3, pics, w, h, l1, l2, err, sizeof err), APP_IO_OK);
    unsigned char *p;
    int W, H;
    assert_int_equal(app_png_read_gray(path, &p, &W, &H, err, sizeof err), APP_IO_OK);
    app_gallery_geom g;
    app_gallery_geometry(3, &g);
    assert_int_equal(W, g.width);
    assert_int_equal(H, g.height);
    assert_true(W >= 200 && W <= 2000 && H >= 100 && H <= 2000);
    double cx[3], cy[3];
    for (int i = 0; i < 3; i++) {
        cx[i] = (i % g.cols) * g.cell_w + g.pad + g.box_w / 2.0;
        cy[i] = (i / g.cols) * g.cell_h + g.pad + g.box_h / 2.0;
    }
    assert_true(px(p, W, cx[0], cy[0]) < 30);
    assert_true(abs((int)px(p, W, cx[2], cy[2]) - 128) < 20);
    /* picture 1 fills the box's height (square in a 2:1 box): black left, white right */
    double half = g.box_h / 4.0;
    assert_true(px(p, W, cx[1] - half, cy[1]) < 30);
    assert_true(px(p, W, cx[1] + half, cy[1]) > 225);
    /* text under picture 0: some dark pixels in its text band, none in an empty cell's */
    int dark = 0;
    for (int y = g.pad + g.box_h + 2; y < g.cell_h - 2; y++)
        for (int x = 0; x < g.cell_w; x++)
            dark += p[(size_t)y * W + x] < 128;
    assert_true(dark > 20);
    /* cell 1 (right of cell 0) has short centred lines: the first 40 px of its text band stay
     * white, however long picture 0's line */
    assert_true(g.cols >= 2);
    for (int y = g.pad + g.box_h + 2; y < g.cell_h - 2; y++)
        for (int x = g.cell_w; x < g.cell_w + 40; x++)
            if (p[(size_t)y * W + x] < 200) fail_msg("text at (%d, %d) in cell 1's margin", x, y);
    free(p);
    /* none: a small sheet that says so */
    assert_int_equal(app_gallery_png(path, 0, NULL, NULL, NULL, NULL, NULL, err, sizeof err),
                     APP_IO_OK);
    assert_int_equal(app_png_read_gray(path, &p, &W, &H, err, sizeof err), APP_IO_OK);
    free(p);
    assert_true(W > 0 && H > 0);
}

/* Many designs (a full run has thousands): smaller cells, a sheet of bounded size, every
 * picture at its place. */
static void test_gallery_many(void **state)
{
    (void)state;
    enum { N = 1000 };
    static unsigned char pix[N][6];
    const unsigned char *pics[N];
    int w[N], h[N];
    for (int i = 0; i < N; i++) {
        memset(pix[i], i % 2 ? 0 : 255, sizeof pix[i]);
        pics[i] = pix[i];
        w[i] = 3;
        h[i] = 2;
    }
    app_gallery_geom g;
    app_gallery_geometry(N, &g);
    assert_true(g.scale < 1 && g.scale >= 0.5);
    assert_true((double)g.width * g.height < 100e6);
    assert_true(g.cols * ((N + g.cols - 1) / g.cols) >= N);
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/many.png", g_dir);
    assert_int_equal(app_gallery_png(path, N, pics, w, h, NULL, NULL, err, sizeof err), APP_IO_OK);
    unsigned char *p;
    int W, H;
    assert_int_equal(app_png_read_gray(path, &p, &W, &H, err, sizeof err), APP_IO_OK);
    assert_int_equal(W, g.width);
    assert_int_equal(H, g.height);
    for (int i = N - 2; i < N; i++) { /* the last two: white, then black */
        double x = (i % g.cols) * g.cell_w + g.pad + g.box_w / 2.0;
        double y = (i / g.cols) * g.cell_h + g.pad + g.box_h / 2.0;
        assert_true(i % 2 ? px(p, W, x, y) < 30 : px(p, W, x, y) > 225);
    }
    free(p);
}

static void test_bad_input(void **state)
{
    (void)state;
    char err[256] = "", path[160];
    assert_int_equal(app_chart_ratios_png(NULL, NULL, 5, NAMES, 2, SERIES, RATIO, err, sizeof err),
                     APP_IO_ERR_INVALID);
    snprintf(path, sizeof path, "%s/no/such/dir/summary.png", g_dir);
    assert_int_equal(app_chart_ratios_png(path, NULL, 5, NAMES, 2, SERIES, RATIO, err, sizeof err),
                     APP_IO_ERR_IO);
    assert_non_null(strstr(err, "summary.png"));
    const unsigned char *const pics[1] = {NULL};
    const int w[1] = {4}, h[1] = {4};
    assert_int_equal(app_gallery_png(path, 1, pics, w, h, NULL, NULL, err, sizeof err),
                     APP_IO_ERR_INVALID);
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chart_order_and_axis), cmocka_unit_test(test_chart_pixels),
        cmocka_unit_test(test_chart_title),          cmocka_unit_test(test_gallery),
        cmocka_unit_test(test_gallery_many),         cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests_name("app_charts", tests, group_setup, group_teardown);
}
