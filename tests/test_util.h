// tests/test_util.h: assertions and helpers shared by the CMocka test programs
#ifndef TOPOPT_TEST_UTIL_H
#define TOPOPT_TEST_UTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

/* cmocka 1.1.5 has no assert_double_equal and its assert_float_equal casts to float.
 * Passes when |a - b| <= atol + rtol*|b|; fails on NaN on either side. */
#define assert_close(a, b, rtol, atol)                                                             \
    do {                                                                                           \
        const double a_ = (a), b_ = (b);                                                           \
        if (!(fabs(a_ - b_) <= (atol) + (rtol)*fabs(b_)))                                          \
            fail_msg("%s = %.17g vs %s = %.17g (rtol %g, atol %g)", #a, a_, #b, b_,                \
                     (double)(rtol), (double)(atol));                                              \
    } while (0)

/* Deterministic uniform numbers in [0, 1) for test data (splitmix64; no libc rand state). */
static inline double test_uniform(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

/* Whole file into a malloc'd buffer (one spare byte for a terminator); *n bytes. */
static inline unsigned char *test_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

#endif
