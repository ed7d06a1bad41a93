// app/charts.c: the suite's pictures with cairo: the ratio charts (summary.png,
// summary_best4.png) and the contact sheet of designs (gallery.png)
#include "charts.h"
#include "export_internal.h"

#include <cairo.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHART_PLOT_H 420.0 /* height of the plot area */
#define CHART_TOP 50.0
#define CHART_LEFT 80.0
#define CHART_RIGHT_PAD 30.0
#define CHART_NAMES_H 230.0 /* room for the rotated item names and the x label */

#define FAIL(st, ...) (snprintf(err ? err : (char[1]){0}, err ? errlen : 1, __VA_ARGS__), (st))

static int usable(double v)
{
    return isfinite(v) && v > 0;
}

/* Ten colours that stay apart on white (Tableau 10). */
static const double PALETTE[10][3] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17},
                                      {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76},
                                      {0.50, 0.50, 0.50}, {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81},
                                      {0.84, 0.15, 0.16}};

static const double *chart_ratio_data; /* for the qsort comparison */
static int chart_ns;

static int cmp_item(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    double x = chart_ratio_data[(size_t)i * chart_ns], y = chart_ratio_data[(size_t)j * chart_ns];
    int ux = usable(x), uy = usable(y);
    if (ux != uy) return ux ? -1 : 1;
    if (ux && x != y) return x < y ? -1 : 1;
    return (i > j) - (i < j);
}

void app_chart_order(int n, int ns, const double *ratio, int *order)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    chart_ratio_data = ratio;
    chart_ns = ns;
    qsort(order, (size_t)n, sizeof *order, cmp_item);
}

void app_chart_geometry(int n, int ns, const double *ratio, app_chart_geom *g)
{
    double lo = 1, hi = 1;
    for (size_t i = 0; i < (size_t)n * (size_t)ns; i++)
        if (usable(ratio[i])) {
            if (ratio[i] < lo) lo = ratio[i];
            if (ratio[i] > hi) hi = ratio[i];
        }
    /* at least 0.95..1.05 around the data, and a margin so that no marker sits on the frame */
    if (lo > 0.95) lo = 0.95;
    if (hi < 1.05) hi = 1.05;
    g->log_lo = log10(lo) - 0.04 * (log10(hi) - log10(lo));
    g->log_hi = log10(hi) + 0.04 * (log10(hi) - log10(lo));
    int w = 10 * n + 300;
    g->width = w < 900 ? 900 : w > 3000 ? 3000 : w;
    g->height = (int)(CHART_TOP + CHART_PLOT_H + CHART_NAMES_H);
    g->left = CHART_LEFT;
    g->right = g->width - CHART_RIGHT_PAD;
    g->top = CHART_TOP;
    g->bottom = CHART_TOP + CHART_PLOT_H;
}

double app_chart_x(const app_chart_geom *g, int k, int n)
{
    return g->left + (g->right - g->left) * (k + 0.5) / (n > 0 ? n : 1);
}

double app_chart_y(const app_chart_geom *g, double v)
{
    return g->bottom - (g->bottom - g->top) * (log10(v) - g->log_lo) / (g->log_hi - g->log_lo);
}

/* cairo_surface_write_to_png into the temporary file of path, synced and renamed into place
 * (app_io_commit_): a reader never sees half a file, a crash never leaves an empty one. */
static app_io_status write_surface(cairo_surface_t *s, const char *path, char *err, size_t errlen)
{
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return FAIL(APP_IO_ERR_NOMEM, "%s: cairo: %s", path,
                    cairo_status_to_string(cairo_surface_status(s)));
    char *tmp = app_io_tmp_name_(path);
    if (!tmp) return FAIL(APP_IO_ERR_NOMEM, "%s: out of memory", path);
    cairo_status_t cs = cairo_surface_write_to_png(s, tmp);
    app_io_status st = APP_IO_OK;
    if (cs != CAIRO_STATUS_SUCCESS) {
        remove(tmp);
        st = FAIL(APP_IO_ERR_IO, "%s: cannot write: %s", path, cairo_status_to_string(cs));
    } else {
        st = app_io_commit_(tmp, path, err, errlen);
    }
    free(tmp);
    return st;
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double size, double align)
{
    cairo_text_extents_t te;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &te);
    cairo_move_to(cr, x - align * te.x_advance, y);
    cairo_show_text(cr, s);
}

/* text_at, the font made smaller where the text would be wider than room pixels. */
static void text_fit(cairo_t *cr, double x, double y, const char *s, double size, double align,
                     double room)
{
    cairo_text_extents_t te;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &te);
    if (te.x_advance > room && room > 0) size *= room / te.x_advance;
    text_at(cr, x, y, s, size, align);
}

/* A marker per series: circle, square, triangle, diamond, then again with the next colours. */
static void marker(cairo_t *cr, int j, double x, double y)
{
    const double *c = PALETTE[j % 10];
    double r = 4;
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    switch (j % 4) {
    case 0:
        cairo_arc(cr, x, y, r, 0, 2 * 3.14159265358979323846);
        break;
    case 1:
        cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r);
        break;
    case 2:
        cairo_move_to(cr, x, y - r - 1);
        cairo_line_to(cr, x + r + 1, y + r);
        cairo_line_to(cr, x - r - 1, y + r);
        cairo_close_path(cr);
        break;
    default:
        cairo_move_to(cr, x, y - r - 1);
        cairo_line_to(cr, x + r + 1, y);
        cairo_line_to(cr, x, y + r + 1);
        cairo_line_to(cr, x - r - 1, y);
        cairo_close_path(cr);
        break;
    }
    cairo_fill(cr);
}

app_io_status app_chart_ratios_png(const char *path, const char *title, int n,
                                   const char *const *names, int ns,
                                   const char *const *series_names, const double *ratio, char *err,
                                   size_t errlen)
{
    if (!path || n < 0 || ns < 1 || (n > 0 && (!ratio || !names)) || !series_names)
        return FAIL(APP_IO_ERR_INVALID, "chart: bad argument");
    app_chart_geom g;
    app_chart_geometry(n, ns, ratio, &g);
    int *order = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!order) return FAIL(APP_IO_ERR_NOMEM, "%s: out of memory", path);
    app_chart_order(n, ns, ratio, order);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, g.width, g.height);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

    /* horizontal grid and tick labels at round ratios, at least 16 px apart */
    static const double TICKS[] = {0.1,  0.2, 0.3,  0.5,  0.7,  0.8,  0.9, 0.93, 0.95, 0.97, 0.98,
                                   0.99, 1.0, 1.01, 1.02, 1.03, 1.05, 1.1, 1.2,  1.3,  1.5,  2,
                                   3,    5,   7,    10,   20,   50,   100, 1000, 1e4,  1e5,  1e6};
    double last_y = 1e9, y1 = app_chart_y(&g, 1.0);
    cairo_set_line_width(cr, 1);
    for (size_t i = 0; i < sizeof TICKS / sizeof TICKS[0]; i++) {
        double y = app_chart_y(&g, TICKS[i]);
        if (y < g.top || y > g.bottom) continue;
        /* 1 always has its label; the others keep 16 px from it and from each other */
        if (TICKS[i] != 1.0 && (last_y - y < 16 || fabs(y - y1) < 16)) continue;
        last_y = y;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, g.left, floor(y) + 0.5);
        cairo_line_to(cr, g.right, floor(y) + 0.5);
        cairo_stroke(cr);
        char lab[32];
        snprintf(lab, sizeof lab, "%g", TICKS[i]);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, g.left - 6, y + 4, lab, 11, 1.0);
    }
    /* the line at 1: as good as the paper */
    cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, g.left, y1);
    cairo_line_to(cr, g.right, y1);
    cairo_stroke(cr);
    /* frame */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, g.left + 0.5, g.top + 0.5, g.right - g.left - 1, g.bottom - g.top - 1);
    cairo_stroke(cr);
    /* the points and, under the axis, the item names */
    for (int k = 0; k < n; k++) {
        int i = order[k];
        double x = app_chart_x(&g, k, n);
        for (int j = 0; j < ns; j++) {
            double v = ratio[(size_t)i * ns + j];
            if (usable(v)) marker(cr, j, x, app_chart_y(&g, v));
        }
        if (n <= 150 && names[i]) {
            cairo_save(cr);
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            cairo_move_to(cr, x + 3, g.bottom + 6);
            cairo_rotate(cr, 3.14159265358979323846 / 2);
            cairo_set_font_size(cr, 9);
            /* a name longer than the room above the x label gets a smaller font */
            double room = g.height - 56 - (g.bottom + 6);
            cairo_text_extents_t ne;
            cairo_text_extents(cr, names[i], &ne);
            if (ne.x_advance > room) cairo_set_font_size(cr, 9 * room / ne.x_advance);
            cairo_show_text(cr, names[i]);
            cairo_restore(cr);
        }
    }
    /* labels and legend */
    cairo_set_source_rgb(cr, 0, 0, 0);
    if (!title)
        title = "our typical compliance / the paper's typical compliance of the same method";
    text_at(cr, (g.left + g.right) / 2, 30, title, 15, 0.5);
    char xl[200];
    snprintf(xl, sizeof xl, "problem (%d), sorted by the ratio of %s", n, series_names[0]);
    text_at(cr, (g.left + g.right) / 2, g.height - 36, xl, 13, 0.5);
    cairo_save(cr);
    cairo_move_to(cr, 22, (g.top + g.bottom) / 2);
    cairo_rotate(cr, -3.14159265358979323846 / 2);
    cairo_set_font_size(cr, 13);
    cairo_text_extents_t te;
    const char *yl = "ratio (log scale; < 1: below the paper)";
    cairo_text_extents(cr, yl, &te);
    cairo_rel_move_to(cr, -te.x_advance / 2, 0);
    cairo_show_text(cr, yl);
    cairo_restore(cr);
    /* the legend in one row under the x label, outside the plot, so that it hides no point */
    double lx = g.left, ly = g.height - 12;
    cairo_set_font_size(cr, 12);
    for (int j = 0; j < ns; j++) {
        const char *nm = series_names[j] ? series_names[j] : "?";
        cairo_text_extents_t le;
        cairo_text_extents(cr, nm, &le);
        marker(cr, j, lx + 4, ly - 4);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, lx + 14, ly, nm, 12, 0);
        lx += 14 + le.x_advance + 24;
    }
    cairo_destroy(cr);
    app_io_status st = write_surface(s, path, err, errlen);
    cairo_surface_destroy(s);
    free(order);
    return st;
}

void app_gallery_geometry(int n, app_gallery_geom *g)
{
    /* cells of 240 x (120 + two text lines), about 3:2 landscape sheets; large runs get smaller
     * cells (down to half size) so that the sheet stays near 100 megapixels */
    g->scale = 1;
    if (n > 400) g->scale = sqrt(400.0 / n);
    if (g->scale < 0.5) g->scale = 0.5;
    g->box_w = (int)(240 * g->scale);
    g->box_h = (int)(120 * g->scale);
    g->pad = 8;
    g->cell_w = g->box_w + 2 * g->pad;
    g->cell_h = g->box_h + 30 + 2 * g->pad;
    g->cols = n > 0 ? (int)ceil(sqrt(1.5 * n * g->cell_h / g->cell_w)) : 1;
    if (g->cols > n && n > 0) g->cols = n;
    if (g->cols < 1) g->cols = 1;
    int rows = n > 0 ? (n + g->cols - 1) / g->cols : 1;
    g->width = n > 0 ? g->cols * g->cell_w : 300;
    g->height = n > 0 ? rows * g->cell_h : 60;
}

app_io_status app_gallery_png(const char *path, int n, const unsigned char *const *pixels,
                              const int *w, const int *h, const char *const *line1,
                              const char *const *line2, char *err, size_t errlen)
{
    if (!path || n < 0 || (n > 0 && (!pixels || !w || !h)))
        return FAIL(APP_IO_ERR_INVALID, "gallery: bad argument");
    for (int i = 0; i < n; i++)
        if (!pixels[i] || w[i] < 1 || h[i] < 1)
            return FAIL(APP_IO_ERR_INVALID, "gallery: picture %d is empty", i);
    app_gallery_geom lg;
    app_gallery_geometry(n, &lg);
    int W = lg.width, H = lg.height, bw = lg.box_w, bh = lg.box_h;
    double scale = lg.scale;
    if (W > 32000 || H > 32000)
        return FAIL(APP_IO_ERR_INVALID, "%s: %d pictures do not fit in one sheet", path, n);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(cr, 0, 0, 0);
    if (n == 0) text_at(cr, 10, 35, "no designs in this run", 14, 0);
    app_io_status st = APP_IO_OK;
    for (int i = 0; i < n && st == APP_IO_OK; i++) {
        int cx = (i % lg.cols) * lg.cell_w + lg.pad, cy = (i / lg.cols) * lg.cell_h + lg.pad;
        /* the picture as a cairo surface (grey to RGB24) */
        cairo_surface_t *im = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w[i], h[i]);
        if (cairo_surface_status(im) != CAIRO_STATUS_SUCCESS) {
            st = FAIL(APP_IO_ERR_NOMEM, "%s: picture %d: out of memory", path, i);
            cairo_surface_destroy(im);
            break;
        }
        cairo_surface_flush(im);
        unsigned char *d = cairo_image_surface_get_data(im);
        int stride = cairo_image_surface_get_stride(im);
        for (int y = 0; y < h[i]; y++) {
            unsigned int *row = (unsigned int *)(void *)(d + (size_t)y * stride);
            for (int x = 0; x < w[i]; x++) {
                unsigned int g = pixels[i][(size_t)y * w[i] + x];
                row[x] = 0xff000000u | g << 16 | g << 8 | g;
            }
        }
        cairo_surface_mark_dirty(im);
        double k = fmin((double)bw / w[i], (double)bh / h[i]);
        double ox = cx + (bw - k * w[i]) / 2, oy = cy + (bh - k * h[i]) / 2;
        cairo_save(cr);
        cairo_translate(cr, ox, oy);
        cairo_scale(cr, k, k);
        cairo_set_source_surface(cr, im, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr),
                                 k >= 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
        cairo_rectangle(cr, 0, 0, w[i], h[i]);
        cairo_fill(cr);
        cairo_restore(cr);
        cairo_surface_destroy(im);
        /* a thin frame, so that white designs show their extent */
        cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, floor(ox) + 0.5, floor(oy) + 0.5, ceil(k * w[i]), ceil(k * h[i]));
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        double fs = 10 * (scale < 0.75 ? 0.75 : scale); /* 7.5 px at the smallest cells */
        /* a line wider than the cell gets a smaller font rather than run into its neighbours */
        double room = lg.cell_w - 4;
        if (line1 && line1[i]) text_fit(cr, cx + bw / 2.0, cy + bh + 12, line1[i], fs, 0.5, room);
        if (line2 && line2[i]) text_fit(cr, cx + bw / 2.0, cy + bh + 25, line2[i], fs, 0.5, room);
    }
    cairo_destroy(cr);
    if (st == APP_IO_OK) st = write_surface(s, path, err, errlen);
    cairo_surface_destroy(s);
    return st;
}
