// app/charts.h: the suite's pictures (a ratio chart and a contact sheet of designs) from plain
// arrays, drawn with cairo
#ifndef APP_CHARTS_H
#define APP_CHARTS_H

#include <stddef.h>

#include "export.h"

/** Pixel geometry of a ratio chart: the picture's size, the plot area and the ratio range. */
typedef struct {
    int width, height;     ///< picture size in pixels
    double left, right;    ///< plot area, x pixels (left < right)
    double top, bottom;    ///< plot area, y pixels (top < bottom)
    double log_lo, log_hi; ///< log10 of the ratios at the bottom and the top of the plot area
} app_chart_geom;

/** The order in which app_chart_ratios_png() draws the n items: by the ratio of series 0,
 *  smallest first, items without a finite positive ratio last, ties by index. ratio[i*ns + j]
 *  is item i's ratio in series j; order[n] gets item indices. */
void app_chart_order(int n, int ns, const double *ratio, int *order);

/** The geometry app_chart_ratios_png() uses for these ratios (same arguments). */
void app_chart_geometry(int n, int ns, const double *ratio, app_chart_geom *g);

/** x pixel of the k-th drawn item (k = position in app_chart_order) of n. */
double app_chart_x(const app_chart_geom *g, int k, int n);

/** y pixel of a ratio v > 0 (log scale). */
double app_chart_y(const app_chart_geom *g, double v);

/** Write a PNG chart of n items (problems) x ns series (methods): ratio[i*ns + j] (our typical
 *  / a reference of the paper's; NaN or <= 0 = missing, not drawn) on a log axis, items sorted
 *  as app_chart_order, a red line at 1, the item names under the axis (up to 150 items), the
 *  title (NULL: "our typical compliance / the paper's typical compliance of the same method"),
 *  labelled axes and a legend with series_names[ns]. The file is written under a temporary name
 *  and renamed into place. Returns APP_IO_OK, or a status with a message in err[errlen]. */
app_io_status app_chart_ratios_png(const char *path, const char *title, int n,
                                   const char *const *names, int ns,
                                   const char *const *series_names, const double *ratio, char *err,
                                   size_t errlen);

/** Layout of a contact sheet of n pictures: picture i is scaled to fit, centred, in the box of
 *  box_w x box_h pixels at x = (i % cols) * cell_w + pad, y = (i / cols) * cell_h + pad; its two
 *  text lines are under the box. */
typedef struct {
    int width, height;  ///< sheet size in pixels
    int cols;           ///< pictures per row
    int cell_w, cell_h; ///< cell size (box, text and padding)
    int box_w, box_h;   ///< the picture's box inside the cell
    int pad;            ///< padding around the box
    double scale;       ///< cell size relative to the default (smaller for many pictures)
} app_gallery_geom;

/** The layout app_gallery_png() uses for n pictures. */
void app_gallery_geometry(int n, app_gallery_geom *g);

/** Write a PNG contact sheet of n greyscale pictures pixels[i] (w[i] x h[i] bytes, row-major, 0 =
 *  black), each scaled to fit its cell, with two lines of text under it (line1[i], line2[i],
 *  either may be NULL). n = 0 writes a small sheet that says so. Written atomically as above. */
app_io_status app_gallery_png(const char *path, int n, const unsigned char *const *pixels,
                              const int *w, const int *h, const char *const *line1,
                              const char *const *line2, char *err, size_t errlen);

#endif
