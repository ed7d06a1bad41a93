// tests/fuzz/fuzz_result.c: libFuzzer target for the result-file reader: the input is read
// from memory with app_h5_read_image (the validating reader behind app_h5_read, which render
// and --resume use), then render's check (a physical density) and the checksum of whatever was
// accepted are recomputed
#include <stdint.h>
#include <stdlib.h>

#include <hdf5.h>

#include "export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int first = 1;
    if (first) {
        // HDF5 returns blocks above its free-list limits (the metadata cache of every opened
        // file, about 1 MB) to malloc; under AddressSanitizer each comes back as a fresh mmap,
        // zeroed page by page, which took most of an execution. Unlimited lists reuse them.
        H5set_free_list_limits(-1, -1, -1, -1, -1, -1);
        first = 0;
    }
    app_result r;
    char err[1024];
    if (app_h5_read_image("fuzz.h5", data, size, &r, err, sizeof err) == APP_IO_OK) {
        volatile double sink = 0;
        if (r.rho_physical && r.W > 0 && r.H > 0) // what render draws: every pixel is read
            for (size_t i = 0; i < (size_t)r.W * (size_t)r.H; i++)
                sink += r.rho_physical[i];
        (void)sink;
        (void)app_result_checksum(&r);
        app_result_free(&r);
    }
    return 0;
}
