/* The largest magnitude of an array of doubles, shared by the compiled loops that scale a snap
 * by it (fftconv's cast of float sums into integers: `fftconv.core.dtypes.cast`).
 */
#ifndef FFTCONV_MAX_ABS_H
#define FFTCONV_MAX_ABS_H

#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The largest |v| of `n` values, NaN where one is NaN (as NumPy's max of their abs): over the
   values' bits without the sign, as unsigned integers, whose order is the magnitudes' and puts
   NaN above infinity (a running maximum of doubles waited 4 cycles a value, not vectorised
   without fast math). Inlined into each caller's CPU targets. */
static inline double max_abs(const double *restrict v, Py_ssize_t n)
{
    uint64_t largest = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, v + i, sizeof bits);
        bits &= 0x7FFFFFFFFFFFFFFFull;
        largest = bits > largest ? bits : largest;
    }
    if (largest > 0x7FF0000000000000ull) return NAN;
    double magnitude;
    memcpy(&magnitude, &largest, sizeof magnitude);
    return magnitude;
}

#endif
