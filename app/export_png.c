// app/export_png.c: density pictures as greyscale PNG (libpng simplified API, no setjmp)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "export_internal.h"

int app_png_default_scale(int W, int H, int mirror_left, int mirror_right)
{
    if (W <= 0) return 1;
    long copies = 1 + (mirror_left != 0) + (mirror_right != 0);
    long width = copies * (long)W;
    long k = (APP_PNG_MIN_WIDTH + width - 1) / width;
    if (k < 1) k = 1;
    // Never exceed the largest side the writer accepts (a very large grid keeps scale 1).
    while (k > 1 && (k * width > APP_PNG_MAX_SIDE || k * (long)H > APP_PNG_MAX_SIDE))
        k--;
    return (int)k;
}

/* Grey level of a density: black (0) for solid 1, white (255) for void 0. */
static unsigned char grey_of(double rho)
{
    if (rho < 0.0) rho = 0.0;
    if (rho > 1.0) rho = 1.0;
    return (unsigned char)lround(255.0 * (1.0 - rho));
}

app_io_status app_png_write_density(const char *path, const double *rho, int W, int H, int scale,
                                    int mirror_left, int mirror_right, char *err, size_t errlen)
{
    if (!path || !rho) return APP_IO_FAIL(APP_IO_ERR_INVALID, "png: NULL path or density");
    if (W <= 0 || H <= 0)
        return APP_IO_FAIL(APP_IO_ERR_INVALID, "%s: bad grid %d x %d (need W, H > 0)", path, W, H);
    if (scale < 0)
        return APP_IO_FAIL(APP_IO_ERR_INVALID, "%s: bad scale %d (need >= 1, or 0 = default)", path,
                           scale);
    int copies = 1 + (mirror_left != 0) + (mirror_right != 0);
    int k = scale > 0 ? scale : app_png_default_scale(W, H, mirror_left, mirror_right);
    size_t pw_ = 0, ph_ = 0, n;
    int big = app_size_mul3((size_t)k, (size_t)W, (size_t)copies, &pw_) ||
              app_size_mul((size_t)k, (size_t)H, &ph_);
    if (big || pw_ > APP_PNG_MAX_SIDE || ph_ > APP_PNG_MAX_SIDE)
        return APP_IO_FAIL(APP_IO_ERR_INVALID,
                           "%s: picture %llu x %llu (scale %d) exceeds %d pixels a side", path,
                           (unsigned long long)pw_, (unsigned long long)ph_, k, APP_PNG_MAX_SIDE);
    long long pw = (long long)pw_, ph = (long long)ph_;
    app_size_mul((size_t)W, (size_t)H, &n); // <= pw_ * ph_, which fits
    for (size_t i = 0; i < n; i++)
        if (!isfinite(rho[i]))
            return APP_IO_FAIL(APP_IO_ERR_INVALID,
                               "%s: density of element (%zu, %zu) is not finite", path,
                               i % (size_t)W, i / (size_t)W);

    size_t w = (size_t)pw, hpx = (size_t)ph;
    unsigned char *px = malloc(w * hpx);
    if (!px)
        return APP_IO_FAIL(APP_IO_ERR_NOMEM, "%s: out of memory for %zu pixels", path, w * hpx);
    // Build one scaled picture row per element row, then repeat it k times.
    for (int ey = 0; ey < H; ey++) {
        unsigned char *row = px + (size_t)ey * (size_t)k * w;
        const double *src = rho + (size_t)ey * (size_t)W;
        size_t x = 0;
        for (int c = 0; c < copies; c++) {
            // Copy c is flipped when it is the left mirror image or the right one.
            int flipped = (mirror_left && c == 0) || (mirror_right && c == copies - 1);
            for (int ex = 0; ex < W; ex++) {
                unsigned char g = grey_of(src[flipped ? W - 1 - ex : ex]);
                for (int r = 0; r < k; r++)
                    row[x++] = g;
            }
        }
        for (int r = 1; r < k; r++)
            memcpy(row + (size_t)r * w, row, w);
    }

    app_io_file_ o;
    app_io_status st = app_io_create_(&o, path, "wb", err, errlen);
    if (st != APP_IO_OK) {
        free(px);
        return st;
    }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)hpx;
    img.format = PNG_FORMAT_GRAY;
    int ok = png_image_write_to_stdio(&img, o.f, 0, px, (png_int_32)w, NULL);
    if (!ok) st = APP_IO_FAIL(APP_IO_ERR_IO, "%s: libpng: %s", path, img.message);
    png_image_free(&img);
    free(px);
    if (ok) return app_io_finish_(&o, err, errlen);
    app_io_abort_(&o);
    return st;
}

app_io_status app_png_read_gray(const char *path, unsigned char **pixels, int *width, int *height,
                                char *err, size_t errlen)
{
    if (pixels) *pixels = NULL;
    if (width) *width = 0;
    if (height) *height = 0;
    if (!path || !pixels || !width || !height)
        return APP_IO_FAIL(APP_IO_ERR_INVALID, "png read: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f) return APP_IO_FAIL(APP_IO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&img, f)) {
        app_io_status st =
            APP_IO_FAIL(APP_IO_ERR_FORMAT, "%s: not a readable PNG: %s", path, img.message);
        png_image_free(&img);
        fclose(f);
        return st;
    }
    img.format = PNG_FORMAT_GRAY;
    size_t w = img.width, h = img.height;
    if (w == 0 || h == 0 || w > 1u << 20 || h > 1u << 20 || w * h > (size_t)1 << 28) {
        png_image_free(&img);
        fclose(f);
        return APP_IO_FAIL(APP_IO_ERR_FORMAT, "%s: unsupported picture size %zu x %zu", path, w, h);
    }
    unsigned char *px = malloc(w * h);
    if (!px) {
        png_image_free(&img);
        fclose(f);
        return APP_IO_FAIL(APP_IO_ERR_NOMEM, "%s: out of memory", path);
    }
    if (!png_image_finish_read(&img, NULL, px, (png_int_32)w, NULL)) {
        app_io_status st = APP_IO_FAIL(APP_IO_ERR_FORMAT, "%s: libpng: %s", path, img.message);
        png_image_free(&img);
        free(px);
        fclose(f);
        return st;
    }
    png_image_free(&img);
    fclose(f);
    *pixels = px;
    *width = (int)w;
    *height = (int)h;
    return APP_IO_OK;
}
