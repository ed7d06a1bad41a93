// tests/fuzz/fuzz_result.c: libFuzzer target for the result-file reader: the input is written
// to a temporary file and read with app_h5_read (as render and --resume read), then the
// checksum of whatever was accepted is recomputed
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "export.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) // memory-backed where there is one: the reader itself is what is measured
        snprintf(path, sizeof path, "%s/fuzz_result.%d.h5",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t put = fwrite(data, 1, size, f);
    if (fclose(f) != 0 || put != size) return 0;
    app_result r;
    char err[1024];
    if (app_h5_read(path, &r, err, sizeof err) == APP_IO_OK) {
        (void)app_result_checksum(&r);
        app_result_free(&r);
    }
    return 0;
}
