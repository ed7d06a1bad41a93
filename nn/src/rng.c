// nn/src/rng.c: deterministic random numbers in plain double arithmetic (splitmix64, polar
// method), identical bits on every IEEE-754 machine.
#include <math.h>

#include "nn_internal.h"

void nn_rng_seed(nn_rng *r, uint64_t seed)
{
    r->s = seed;
    r->have = 0;
    r->next = 0.0;
}

// splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", 2014).
uint64_t nn_rng_u64(nn_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double nn_rng_uniform(nn_rng *r)
{
    return (double)(nn_rng_u64(r) >> 11) * 0x1.0p-53;
}

// ln(x) = e ln 2 + 2 atanh(s), s = (m - 1)/(m + 1), x = m 2^e with m in [sqrt(1/2), sqrt(2)):
// |s| < 0.1716, so 2 s^(2i+1)/(2i+1) summed to i = 11 is below 1e-19 relative. Only + - * /
// and frexp (exact) are used, so the result is the same on every IEEE machine (libm's log is
// not required to be correctly rounded and differs between libraries).
double nn_log(double x)
{
    int e;
    double mant = frexp(x, &e); // x = mant * 2^e, mant in [0.5, 1)
    if (mant < 0.70710678118654752440) {
        mant *= 2.0;
        e -= 1;
    }
    const double s = (mant - 1.0) / (mant + 1.0);
    const double s2 = s * s;
    double sum = 0.0;
    for (int i = 11; i >= 0; i--)
        sum = sum * s2 + 1.0 / (double)(2 * i + 1);
    const double ln2_hi = 6.93147180369123816490e-01; // ln 2 split for an exact e*ln2_hi
    const double ln2_lo = 1.90821492927058770002e-10;
    return ((double)e * ln2_hi + 2.0 * s * sum) + (double)e * ln2_lo;
}

// Marsaglia and Bray's polar method: two normals per accepted pair.
double nn_rng_normal(nn_rng *r)
{
    if (r->have) {
        r->have = 0;
        return r->next;
    }
    double v1, v2, s;
    do {
        v1 = 2.0 * nn_rng_uniform(r) - 1.0;
        v2 = 2.0 * nn_rng_uniform(r) - 1.0;
        s = v1 * v1 + v2 * v2;
    } while (s >= 1.0 || s == 0.0);
    const double f = sqrt(-2.0 * nn_log(s) / s);
    r->next = v2 * f;
    r->have = 1;
    return v1 * f;
}

// TF's truncated_normal: redraw samples more than two standard deviations from the mean.
double nn_rng_trunc_normal(nn_rng *r)
{
    double x;
    do
        x = nn_rng_normal(r);
    while (fabs(x) > 2.0);
    return x;
}
