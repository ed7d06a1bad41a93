// tests/fuzz/fuzz_config.c: libFuzzer target for the config parser (YAML text -> app_config,
// validation, cost estimate of what loads)
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    app_config conf, *c = &conf;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char err[2048];
    if (app_config_load_string(c, "fuzz.yaml", text, 0, NULL, TOPOPT_FUZZ_BENCH, err, sizeof err) ==
        0) {
        app_cost e;
        (void)app_cost_check(c, &e, err, sizeof err);
        app_config_free(c);
    }
    free(text);
    return 0;
}
