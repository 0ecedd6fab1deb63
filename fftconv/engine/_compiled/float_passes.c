/* One-pass loops over float arrays for the engine, each one memory pass where NumPy takes two
 * or three: the normalised filter's passes around its sums and astropy's test for holes
 * (`fftconv.engine.holes`).
 *
 * split and divide take arrays of one dtype (float32 or float64) and one shape whose last axis
 * is contiguous (views into a transform's padded buffer, a tile of the output): they run along
 * each row. Where the caller had them go through NumPy's strided loops instead, the
 * normalised filter of a 1024² float64 image on the FFTs spent 5 ms of its 44 in them.
 *
 * split(values, weights) -> bool, in place: weights[i] = 0 where values[i] is NaN (a hole), else 1; the
 * holes of values become 0. Returns whether values are then all finite (no inf remained): the
 * sums may skip their own check for NaN and inf. split(values, weights, source[, less_one])
 * reads the pixels from `source` (its shape, float32 or float64 no wider than values) rather
 * than from values: a transform's buffer filled from the image in the same pass (the copy and
 * the split in place were two passes, 1.2 of a 1024² float64 image's 18 ms on the FFTs); with
 * less_one, the weights less one (0 valid, -1 a hole: a border of zeros' weights, `hole_tiles`).
 *
 * divide(numerator, denominator, out, limit, test[, offset[, small]]) -> (int, int): with
 * d = denominator[i] + offset, out[i] = numerator[i] / d (IEEE: a zero denominator gives inf or
 * NaN, no error); the number of outputs whose d is "empty" by `test`: 0 `d <= limit`,
 * 1 `|d| <= limit`, 2 `d < limit`, and the number whose |d| < small. The caller marks those
 * outputs only when there are any. `out` may be the numerator. The offset is the constant a
 * border of zeros' transformed weights leave out (`hole_tiles`), the small count the outputs a
 * transform's rounding may spoil: added and tested as the outputs are divided, where NumPy's
 * add and the test were two more passes over the denominator (1024² float64: 0.67 and 0.30 ms
 * beside the division's 0.86, Intel Xeon).
 *
 * any_small(values, limit) -> bool: whether any |values[i]| < limit (NaN is not), over an array
 * as split takes: the normalised filter's test for outputs whose weight sums a transform's
 * rounding may spoil (NumPy's abs, compare and any cost 2 ms a 1024² float64 tile).
 *
 * finite(values) -> bool: whether every value is finite, over an array as split takes; stops
 * after the first row holding a NaN or an infinity. A small separable filter's test of its
 * image before scipy's running sums (`fftconv.ndimage.scipy_passes`): NumPy's sum under
 * errstate cost 4.2 us of a 48x160 float64 call of 22.
 *
 * nan_in_sum(values) -> bool or None, for a C-contiguous float32 or float64 array: whether its
 * float64 sum would be NaN (astropy's test for holes): a NaN, or infinities of both signs.
 * Stops at the first NaN, so an image with holes is answered in its first rows. None where
 * no NaN is found but the finite values are large enough for a sum to overflow (the caller
 * sums): never for float32.
 *
 * snap_truncate(values, units) -> None, in place on a C-contiguous float64 array: scipy.ndimage's
 * cast of float sums to integers (toward zero) after fftconv's snap (`fftconv.core.dtypes.cast`):
 * with scale = max(max |values|, 1) (NaN where a value is NaN) and limit = units * DBL_EPSILON *
 * scale, each value within limit of its nearest integer (rint) becomes it, then every value is
 * truncated; the caller casts the result. NumPy's rint, abs, max, where and trunc over the
 * array took 18.6 of a 1024² uint8 `uniform_filter`'s 28 ms (Intel Xeon; scipy's 7).
 *
 * separable(extended, fv, fh, out, empty, scale, limit, test) -> int: the normalised
 * filter of one band by a rank-1 2-D kernel, in one pass over the band. `extended` is the band extended
 * by the kernel's halo with its holes NaN (float32 or float64; the sums are in out's dtype, at
 * least as wide); fv, fh the correlation factors. For every output (i, j): num = sum over
 * a < kv, b < kh of fv[a] fh[b] values[i + a, j + b] (holes 0), den the same over the weights
 * (holes 0, else 1), out[i, j] = num / den (times scale unless it is 1; out is of the sums' dtype,
 * or float32 for float64 sums, rounded as NumPy casts), empty[i, j] whether den
 * is empty by `test` (as divide); returns how many are, or -1 as soon as an infinity is read
 * (out is then partly written: the caller sums that band its general way, which treats
 * infinities as NaN-aware sums do). Each input row is split into its two planes once, into a
 * ring of kv rows; each output row sums its kv rows into column sums, then those along the row,
 * two vectors at a time in registers. The engine's passes (fill and split a band into two
 * planes, sum them as a batch of two with the separable executor, divide) wrote and read six
 * planes a band: about 6.5 of a 1024² float32 image's 7.5 ms with a 9x9 Gaussian (Intel Xeon,
 * AVX-512).
 *
 * separable_ring(kv, kh, cols, itemsize) -> int: the bytes of the ring of rows `separable` keeps
 * for a band of `cols` outputs by kv x kh taps of `itemsize`-byte sums. The caller declines the
 * loop where it would not stay in the core's cache: 1024² summed in float64 with 161 taps a side,
 * a 3 MB ring, took 124 ms where the engine's passes take 55 (81 taps, 1.4 MB: 24.6 against
 * 24.0; Intel Xeon, 2 MiB L2).
 *
 * The GIL is released while they run.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "buffer_kinds.h"
#include "max_abs.h"
#include "target_clones.h"

#define DEFINE_PLANES(T, NAME)                                                                      \
    CLONES static int NAME##_split(T *restrict v, T *restrict w, Py_ssize_t n)                    \
    {                                                                                               \
        const void *row = v; /* split in place: the row read is the values written */               \
        Py_ssize_t width = n;                                                                       \
        int spoilt = 0;                                                                             \
        SPLIT_ROW(T, T)                                                                             \
        return spoilt;                                                                              \
    }                                                                                               \
                                                                                                    \
    /* the count of outputs whose |d| < small is returned through *smalls */                    \
    CLONES static Py_ssize_t NAME##_divide(const T *num, const T *den, T *out, Py_ssize_t n,        \
                                           T limit, int test, T offset, T small, Py_ssize_t *smalls) \
    {                                                                                               \
        Py_ssize_t empty = 0, below = 0;                                                            \
        if (test == 0) {                                                                            \
            for (Py_ssize_t i = 0; i < n; i++) {                                                    \
                T d = den[i] + offset;                                                              \
                empty += d <= limit;                                                                \
                below += (d < 0 ? -d : d) < small;                                                  \
                out[i] = num[i] / d;                                                                \
            }                                                                                       \
        } else if (test == 1) {                                                                     \
            for (Py_ssize_t i = 0; i < n; i++) {                                                    \
                T d = den[i] + offset;                                                              \
                empty += (d < 0 ? -d : d) <= limit;                                                 \
                below += (d < 0 ? -d : d) < small;                                                  \
                out[i] = num[i] / d;                                                                \
            }                                                                                       \
        } else {                                                                                    \
            for (Py_ssize_t i = 0; i < n; i++) {                                                    \
                T d = den[i] + offset;                                                              \
                empty += d < limit;                                                                 \
                below += (d < 0 ? -d : d) < small;                                                  \
                out[i] = num[i] / d;                                                                \
            }                                                                                       \
        }                                                                                           \
        *smalls += below;                                                                           \
        return empty;                                                                               \
    }

#define DEFINE_ANY_SMALL(T, NAME)                                                                   \
    CLONES static int NAME##_any_small(const T *v, Py_ssize_t n, T limit)                           \
    {                                                                                               \
        int found = 0;                                                                              \
        for (Py_ssize_t i = 0; i < n; i++) {                                                        \
            T x = v[i];                                                                             \
            found |= (x < 0 ? -x : x) < limit;                                                      \
        }                                                                                           \
        return found;                                                                               \
    }

/* The separable pass sums a chunk of two 64-byte vectors a plane in registers (GCC's vector
   types: each target clone lowers them to its own registers; AVX2 takes two apiece). Loops of
   plain arrays were not vectorised for float64: 1024² with a 9x9 kernel 13.6 ms, 3.4 with these. */
typedef float f32_vector __attribute__((vector_size(64), aligned(4), may_alias));
typedef double f64_vector __attribute__((vector_size(64), aligned(8), may_alias));

/* The band is summed in strips of columns whose ring of rows (two planes) takes at most this
   many bytes, so that it stays in L1: a 9x9 kernel in float64, strips of 272 columns. Strips
   narrower than 16 halos are not cut (the halo is split again a strip). Intel Xeon (48 KiB L1d),
   1024² float32 image summed in float64, the loop alone: 9x9 4.6 -> 4.0 ms in strips of 256
   columns (128: 4.0, 512: 4.5); 25x25 10.5 ms whole, 11.5 in strips of 256. */
#define SEPARABLE_RING_BYTES 40960

/* The columns of each strip `separable` sums for a band of `cols` outputs by kv x kh taps of
   `itemsize`-byte sums (all of them where strips would be narrower than 16 halos), and the
   bytes of its ring of rows. */
static Py_ssize_t strip_columns(Py_ssize_t kv, Py_ssize_t kh, Py_ssize_t cols, Py_ssize_t itemsize)
{
    Py_ssize_t chunk = 2 * (64 / itemsize); /* two vectors: the loops' step */
    Py_ssize_t strip = SEPARABLE_RING_BYTES / (2 * kv * itemsize);
    strip -= strip % chunk;
    return strip < 16 * (kh - 1) || strip < chunk || strip > cols ? cols : strip;
}

static Py_ssize_t ring_bytes(Py_ssize_t kv, Py_ssize_t kh, Py_ssize_t cols, Py_ssize_t itemsize)
{
    return 2 * kv * (strip_columns(kv, kh, cols, itemsize) + kh - 1) * itemsize;
}

/* The body of split and split_row for an input row of IN: values and weights of T, and
   whether an infinity was read (inf - inf is NaN). */
#define SPLIT_ROW(IN, T)                                                                            \
    {                                                                                               \
        const IN *x = row;                                                                          \
        for (Py_ssize_t c = 0; c < width; c++) {                                                    \
            T y = (T)x[c];                                                                          \
            int hole = y != y;                                                                      \
            v[c] = hole ? (T)0 : y;                                                                 \
            w[c] = hole ? (T)0 : (T)1;                                                              \
            spoilt |= (v[c] - v[c]) != (T)0;                                                        \
        }                                                                                           \
    }

#define DEFINE_SEPARABLE(T, NAME)                                                                   \
    enum { NAME##_LANES = 64 / sizeof(T), NAME##_CHUNK = 2 * NAME##_LANES };                         \
    typedef NAME##_vector NAME##_v;                                                                 \
                                                                                                    \
    /* one call's band: the extended rows (float32, or float64 where wide_in), the factors, the     \
       outputs (float32 where narrow_out) and their empty marks, the rule, and the scratch */     \
    typedef struct {                                                                                \
        const char *extended;                                                                       \
        Py_ssize_t in_stride;                                                                       \
        int wide_in, narrow_out, test;                                                              \
        const T *fv, *fh;                                                                           \
        Py_ssize_t kv, kh, rows, cols, out_stride, empty_stride;                                    \
        char *out, *empty;                                                                          \
        T scale, limit;                                                                             \
        T *scratch;                                                                                 \
        const T **ring_v, **ring_w;                                                                 \
    } NAME##_band;                                                                                  \
                                                                                                    \
    /* n[c] = sum over a < k of f[a] x[a][c], d alike over y, for c < width. */                   \
    static inline __attribute__((always_inline)) void NAME##_down(                                  \
        const T *const *x, const T *const *y, const T *f, Py_ssize_t k, T *restrict n,             \
        T *restrict d, Py_ssize_t width)                                                           \
    {                                                                                               \
        Py_ssize_t c = 0;                                                                           \
        for (; c + NAME##_CHUNK <= width; c += NAME##_CHUNK) {                                      \
            NAME##_v n0 = {0}, n1 = {0}, d0 = {0}, d1 = {0};                                        \
            for (Py_ssize_t a = 0; a < k; a++) {                                                    \
                const T *xa = x[a] + c, *ya = y[a] + c;                                             \
                NAME##_v t = (NAME##_v){0} + f[a];                                                  \
                n0 += t * *(const NAME##_v *)xa;                                                    \
                n1 += t * *(const NAME##_v *)(xa + NAME##_LANES);                                   \
                d0 += t * *(const NAME##_v *)ya;                                                    \
                d1 += t * *(const NAME##_v *)(ya + NAME##_LANES);                                   \
            }                                                                                       \
            *(NAME##_v *)(n + c) = n0;                                                              \
            *(NAME##_v *)(n + c + NAME##_LANES) = n1;                                               \
            *(NAME##_v *)(d + c) = d0;                                                              \
            *(NAME##_v *)(d + c + NAME##_LANES) = d1;                                               \
        }                                                                                           \
        for (; c < width; c++) {                                                                    \
            T sn = 0, sd = 0;                                                                       \
            for (Py_ssize_t a = 0; a < k; a++) {                                                    \
                sn += f[a] * x[a][c];                                                               \
                sd += f[a] * y[a][c];                                                               \
            }                                                                                       \
            n[c] = sn;                                                                              \
            d[c] = sd;                                                                              \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    /* n[j] = sum over b < k of f[b] x[j + b], d alike over y, for j < cols. */                     \
    static inline __attribute__((always_inline)) void NAME##_along(                                 \
        const T *x, const T *y, const T *f, Py_ssize_t k, T *restrict n, T *restrict d,             \
        Py_ssize_t cols)                                                                            \
    {                                                                                               \
        Py_ssize_t j = 0;                                                                           \
        for (; j + NAME##_CHUNK <= cols; j += NAME##_CHUNK) {                                       \
            NAME##_v n0 = {0}, n1 = {0}, d0 = {0}, d1 = {0};                                        \
            for (Py_ssize_t b = 0; b < k; b++) {                                                    \
                NAME##_v t = (NAME##_v){0} + f[b];                                                  \
                n0 += t * *(const NAME##_v *)(x + j + b);                                           \
                n1 += t * *(const NAME##_v *)(x + j + b + NAME##_LANES);                            \
                d0 += t * *(const NAME##_v *)(y + j + b);                                           \
                d1 += t * *(const NAME##_v *)(y + j + b + NAME##_LANES);                            \
            }                                                                                       \
            *(NAME##_v *)(n + j) = n0;                                                              \
            *(NAME##_v *)(n + j + NAME##_LANES) = n1;                                               \
            *(NAME##_v *)(d + j) = d0;                                                              \
            *(NAME##_v *)(d + j + NAME##_LANES) = d1;                                               \
        }                                                                                           \
        for (; j < cols; j++) {                                                                     \
            T sn = 0, sd = 0;                                                                       \
            for (Py_ssize_t b = 0; b < k; b++) {                                                    \
                sn += f[b] * x[j + b];                                                              \
                sd += f[b] * y[j + b];                                                              \
            }                                                                                       \
            n[j] = sn;                                                                              \
            d[j] = sd;                                                                              \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    /* row i of the ring (kv rows of the two planes, `width` each): the extended row split */  \
    static inline __attribute__((always_inline)) int NAME##_split_row(const void *row, int wide_in, \
                                                                      T *restrict v, T *restrict w, \
                                                                      Py_ssize_t width)             \
    {                                                                                               \
        int spoilt = 0;                                                                             \
        if (wide_in)                                                                                \
            SPLIT_ROW(double, T)                                                                    \
        else                                                                                        \
            SPLIT_ROW(float, T)                                                                     \
        return spoilt;                                                                              \
    }                                                                                               \
                                                                                                    \
    /* the columns c0 .. c0 + cols of band b */                                                   \
    static inline __attribute__((always_inline)) Py_ssize_t NAME##_strip(const NAME##_band *b,       \
                                                                        Py_ssize_t c0, Py_ssize_t cols) \
    {                                                                                               \
        const char *extended = b->extended + c0 * (b->wide_in ? 8 : 4);                             \
        char *out = b->out + c0 * (b->narrow_out ? 4 : (Py_ssize_t)sizeof(T));                      \
        char *empty = b->empty + c0;                                                                \
        const Py_ssize_t in_stride = b->in_stride, out_stride = b->out_stride;                      \
        const Py_ssize_t empty_stride = b->empty_stride, kv = b->kv, kh = b->kh, rows = b->rows;    \
        const int wide_in = b->wide_in, narrow_out = b->narrow_out, test = b->test;                 \
        const T *fv = b->fv, *fh = b->fh, scale = b->scale, limit = b->limit;                       \
        T *restrict scratch = b->scratch;                                                           \
        const T **ring_v = b->ring_v, **ring_w = b->ring_w;                                         \
        const Py_ssize_t width = cols + kh - 1;                                                     \
        T *restrict nv = scratch, *restrict dv = scratch + width;                                  \
        T *restrict nh = scratch + 2 * width, *restrict dh = scratch + 2 * width + cols;           \
        T *planes = scratch + 2 * width + 2 * cols; /* the ring: kv rows of values, kv of weights */ \
        Py_ssize_t count = 0;                                                                       \
        for (Py_ssize_t r = 0; r + 1 < kv; r++) {                                                   \
            if (NAME##_split_row(extended + r * in_stride, wide_in, planes + r * width,             \
                                 planes + (kv + r) * width, width))                                 \
                return -1;                                                                          \
        }                                                                                           \
        for (Py_ssize_t i = 0; i < rows; i++) {                                                     \
            Py_ssize_t newest = (i + kv - 1) % kv;                                                  \
            if (NAME##_split_row(extended + (i + kv - 1) * in_stride, wide_in, planes + newest * width, \
                                 planes + (kv + newest) * width, width))                            \
                return -1;                                                                          \
            for (Py_ssize_t a = 0; a < kv; a++) {                                                   \
                Py_ssize_t slot = (i + a) % kv;                                                     \
                ring_v[a] = planes + slot * width;                                                  \
                ring_w[a] = planes + (kv + slot) * width;                                           \
            }                                                                                       \
            NAME##_down(ring_v, ring_w, fv, kv, nv, dv, width);                                     \
            NAME##_along(nv, dv, fh, kh, nh, dh, cols);                                             \
            T *restrict o = (T *)(out + i * out_stride);                                            \
            unsigned char *restrict e = (unsigned char *)(empty + i * empty_stride);                \
            Py_ssize_t found = 0;                                                                   \
            if (test == 0) {                                                                        \
                for (Py_ssize_t j = 0; j < cols; j++) {                                             \
                    e[j] = dh[j] <= limit;                                                          \
                    found += e[j];                                                                  \
                }                                                                                   \
            } else if (test == 1) {                                                                 \
                for (Py_ssize_t j = 0; j < cols; j++) {                                             \
                    T d = dh[j];                                                                    \
                    e[j] = (d < 0 ? -d : d) <= limit;                                               \
                    found += e[j];                                                                  \
                }                                                                                   \
            } else {                                                                                \
                for (Py_ssize_t j = 0; j < cols; j++) {                                             \
                    e[j] = dh[j] < limit;                                                           \
                    found += e[j];                                                                  \
                }                                                                                   \
            }                                                                                       \
            if (narrow_out) { /* float64 sums of a float32 output: rounded as NumPy casts */      \
                float *restrict o32 = (float *)(out + i * out_stride);                              \
                if (scale == (T)1) {                                                                \
                    for (Py_ssize_t j = 0; j < cols; j++) o32[j] = (float)(nh[j] / dh[j]);          \
                } else {                                                                            \
                    for (Py_ssize_t j = 0; j < cols; j++) o32[j] = (float)(nh[j] / dh[j] * scale);  \
                }                                                                                   \
            } else if (scale == (T)1) {                                                             \
                for (Py_ssize_t j = 0; j < cols; j++) o[j] = nh[j] / dh[j];                         \
            } else {                                                                                \
                for (Py_ssize_t j = 0; j < cols; j++) o[j] = nh[j] / dh[j] * scale;                 \
            }                                                                                       \
            count += found;                                                                         \
        }                                                                                           \
        return count;                                                                               \
    }                                                                                               \
    CLONES static Py_ssize_t NAME##_separable(const NAME##_band *b)                               \
    {                                                                                               \
        Py_ssize_t count = 0;                                                                       \
        Py_ssize_t strip = strip_columns(b->kv, b->kh, b->cols, (Py_ssize_t)sizeof(T));             \
        for (Py_ssize_t c0 = 0; c0 < b->cols; c0 += strip) {                                        \
            Py_ssize_t found = NAME##_strip(b, c0, b->cols - c0 < strip ? b->cols - c0 : strip);     \
            if (found < 0) return -1;                                                               \
            count += found;                                                                         \
        }                                                                                           \
        return count;                                                                               \
    }

DEFINE_SEPARABLE(float, f32)
DEFINE_SEPARABLE(double, f64)

DEFINE_ANY_SMALL(float, f32)
DEFINE_ANY_SMALL(double, f64)

/* whether every value is finite: x - x is 0, or NaN for a NaN or an infinity */
#define DEFINE_FINITE(T, NAME)                                                                      \
    CLONES static int NAME##_finite(const T *v, Py_ssize_t n)                                       \
    {                                                                                               \
        int bad = 0;                                                                                \
        for (Py_ssize_t i = 0; i < n; i++) {                                                        \
            T x = v[i];                                                                             \
            bad |= (x - x) != (T)0;                                                                 \
        }                                                                                           \
        return !bad;                                                                                \
    }

DEFINE_FINITE(float, f32)
DEFINE_FINITE(double, f64)

DEFINE_PLANES(float, f32)
DEFINE_PLANES(double, f64)

#define SCAN_BLOCK 4096

/* nan_in_sum's answer: 1 NaN, 0 not, -1 unknown (the sum of the finite values might overflow).
   Integer flags only, so that the loop vectorises: a float maximum would not. */
#define DEFINE_NAN_IN_SUM(T, NAME)                                                                  \
    CLONES static int NAME##_nan_in_sum(const T *v, Py_ssize_t n)                                  \
    {                                                                                               \
        int positive = 0, negative = 0, big = 0;                                                    \
        /* beyond this magnitude n values might overflow a double sum (inf included) */             \
        const double limit_double = DBL_MAX / (double)(n > 0 ? n : 1);                              \
        const T limit = limit_double > (double)FLT_MAX && sizeof(T) == 4 ? (T)INFINITY : (T)limit_double; \
        for (Py_ssize_t start = 0; start < n; start += SCAN_BLOCK) {                                \
            Py_ssize_t stop = n - start < SCAN_BLOCK ? n : start + SCAN_BLOCK;                      \
            int nan = 0;                                                                            \
            for (Py_ssize_t i = start; i < stop; i++) {                                             \
                T x = v[i], a = x < 0 ? -x : x;                                                     \
                nan |= x != x;                                                                      \
                positive |= x == (T)INFINITY;                                                       \
                negative |= x == -(T)INFINITY;                                                      \
                big |= a > limit;                                                                   \
            }                                                                                       \
            if (nan) return 1;                                                                      \
        }                                                                                           \
        if (positive && negative) return 1;                                                         \
        return big ? -1 : 0;                                                                        \
    }

DEFINE_NAN_IN_SUM(float, f32)
DEFINE_NAN_IN_SUM(double, f64)

/* ---- Python binding ---------------------------------------------------------------- */

/* 0 for float32, 1 for float64, -1 for anything else */
static int kind_of(const Py_buffer *view) { return buffer_kind(view, KINDS_FLOAT); }

/* Buffers of one float dtype and one shape, each with a contiguous last axis; on failure all
   are released and -1 returned. */
static int get_alike(PyObject **objects, Py_buffer *views, const int *writable, int count)
{
    for (int i = 0; i < count; i++) {
        int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable[i] ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objects[i], &views[i], flags) < 0) {
            while (i-- > 0) PyBuffer_Release(&views[i]);
            return -1;
        }
    }
    int kind = kind_of(&views[0]), ndim = views[0].ndim;
    const char *problem = ndim > 64 ? "the arrays have over 64 axes" : NULL;
    for (int i = 0; i < count && !problem; i++) {
        const Py_buffer *v = &views[i];
        if (kind < 0 || kind_of(v) != kind || v->ndim != ndim) {
            problem = "the arrays must share one dtype (float32 or float64) and shape";
            break;
        }
        for (int a = 0; a < ndim; a++) {
            if (v->shape[a] != views[0].shape[a]) problem = "the arrays must share one dtype (float32 or float64) and shape";
        }
        if (ndim > 0 && v->shape[ndim - 1] > 1 && v->strides[ndim - 1] != v->itemsize)
            problem = "the arrays' last axis must be contiguous";
    }
    if (problem) {
        PyErr_SetString(PyExc_TypeError, problem);
        for (int j = 0; j < count; j++) PyBuffer_Release(&views[j]);
        return -1;
    }
    return kind;
}

/* The rows of buffers `get_alike` accepted, one at a time: `next_row` sets each buffer's row
   pointer and returns 0 once every row was given. */
typedef struct {
    int count, ndim;
    Py_ssize_t index[64], rows, row, length;
    char *at[3];
    const Py_buffer *views;
} rows_of;

static void rows_begin(rows_of *r, const Py_buffer *views, int count)
{
    r->count = count;
    r->views = views;
    r->ndim = views[0].ndim;
    r->length = r->ndim > 0 ? views[0].shape[r->ndim - 1] : 1;
    r->rows = 1;
    for (int a = 0; a + 1 < r->ndim; a++) {
        r->rows *= views[0].shape[a];
        r->index[a] = 0;
    }
    if (r->length == 0) r->rows = 0;
    r->row = 0;
}

static int next_row(rows_of *r)
{
    if (r->row >= r->rows) return 0;
    for (int i = 0; i < r->count; i++) {
        char *p = r->views[i].buf;
        for (int a = 0; a + 1 < r->ndim; a++) p += r->index[a] * r->views[i].strides[a];
        r->at[i] = p;
    }
    r->row++;
    for (int a = r->ndim - 2; a >= 0; a--) { /* the next row's index, the last outer axis fastest */
        if (++r->index[a] < r->views[0].shape[a]) break;
        r->index[a] = 0;
    }
    return 1;
}

/* `source` for split: the planes' shape, float32 or float64 (not wider than the planes' kind),
   its last axis contiguous; its kind, or -1 with an error set (the view released). */
static int get_source(PyObject *object, Py_buffer *view, const Py_buffer *planes, int kind)
{
    if (PyObject_GetBuffer(object, view, PyBUF_STRIDES | PyBUF_FORMAT) < 0) return -1;
    int source = kind_of(view), ndim = planes->ndim;
    const char *problem = NULL;
    if (source < 0 || source > kind)
        problem = "the source must be float32 or float64, no wider than the planes";
    else if (view->ndim != ndim)
        problem = "the source must have the planes' shape";
    for (int a = 0; a < ndim && !problem; a++) {
        if (view->shape[a] != planes->shape[a]) problem = "the source must have the planes' shape";
    }
    if (!problem && ndim > 0 && view->shape[ndim - 1] > 1 && view->strides[ndim - 1] != view->itemsize)
        problem = "the source's last axis must be contiguous";
    if (problem) {
        PyErr_SetString(PyExc_TypeError, problem);
        PyBuffer_Release(view);
        return -1;
    }
    return source;
}

/* a row split from the source; with less_one its weights less one (0 valid, -1 a hole), taken
   while the row is in L1 */
CLONES static int f32_split_from(const void *row, float *restrict v, float *restrict w, Py_ssize_t width,
                                 int less_one)
{
    int spoilt = f32_split_row(row, 0, v, w, width);
    if (less_one)
        for (Py_ssize_t c = 0; c < width; c++) w[c] -= 1.0f;
    return spoilt;
}

CLONES static int f64_split_from(const void *row, int wide_in, double *restrict v, double *restrict w,
                                 Py_ssize_t width, int less_one)
{
    int spoilt = f64_split_row(row, wide_in, v, w, width);
    if (less_one)
        for (Py_ssize_t c = 0; c < width; c++) w[c] -= 1.0;
    return spoilt;
}

static PyObject *py_split(PyObject *self, PyObject *args)
{
    PyObject *objects[3] = {NULL, NULL, NULL};
    int less_one = 0;
    if (!PyArg_ParseTuple(args, "OO|Op", &objects[0], &objects[1], &objects[2], &less_one)) return NULL;
    Py_buffer views[3];
    const int writable[2] = {1, 1};
    int kind = get_alike(objects, views, writable, 2);
    if (kind < 0) return NULL;
    int count = 2, source = kind;
    if (objects[2] != NULL && objects[2] != Py_None) {
        source = get_source(objects[2], &views[2], &views[0], kind);
        if (source < 0) {
            PyBuffer_Release(&views[0]);
            PyBuffer_Release(&views[1]);
            return NULL;
        }
        count = 3;
    } else if (less_one) {
        PyErr_SetString(PyExc_TypeError, "less_one needs a source");
        PyBuffer_Release(&views[0]);
        PyBuffer_Release(&views[1]);
        return NULL;
    }
    int spoilt = 0;
    rows_of r;
    rows_begin(&r, views, count);
    Py_BEGIN_ALLOW_THREADS
    while (next_row(&r)) {
        if (count == 3)
            spoilt |= kind == 0 ? f32_split_from(r.at[2], (float *)r.at[0], (float *)r.at[1], r.length, less_one)
                                : f64_split_from(r.at[2], source == 1, (double *)r.at[0], (double *)r.at[1],
                                                 r.length, less_one);
        else
            spoilt |= kind == 0 ? f32_split((float *)r.at[0], (float *)r.at[1], r.length)
                                : f64_split((double *)r.at[0], (double *)r.at[1], r.length);
    }
    Py_END_ALLOW_THREADS
    for (int i = 0; i < count; i++) PyBuffer_Release(&views[i]);
    return PyBool_FromLong(!spoilt);
}

static PyObject *py_divide(PyObject *self, PyObject *args)
{
    PyObject *objects[3];
    double limit, offset = 0.0, small = 0.0;
    int test;
    if (!PyArg_ParseTuple(args, "OOOdi|dd", &objects[0], &objects[1], &objects[2], &limit, &test, &offset,
                          &small))
        return NULL;
    if (test < 0 || test > 2) {
        PyErr_SetString(PyExc_ValueError, "test must be 0 (d <= limit), 1 (|d| <= limit) or 2 (d < limit)");
        return NULL;
    }
    Py_buffer views[3];
    const int writable[3] = {0, 0, 1};
    int kind = get_alike(objects, views, writable, 3);
    if (kind < 0) return NULL;
    Py_ssize_t empty = 0, smalls = 0;
    rows_of r;
    rows_begin(&r, views, 3);
    Py_BEGIN_ALLOW_THREADS
    while (next_row(&r)) {
        empty += kind == 0 ? f32_divide((float *)r.at[0], (float *)r.at[1], (float *)r.at[2], r.length,
                                        (float)limit, test, (float)offset, (float)small, &smalls)
                           : f64_divide((double *)r.at[0], (double *)r.at[1], (double *)r.at[2], r.length,
                                        limit, test, offset, small, &smalls);
    }
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 3; i++) PyBuffer_Release(&views[i]);
    return Py_BuildValue("nn", empty, smalls);
}

static PyObject *py_any_small(PyObject *self, PyObject *args)
{
    PyObject *object;
    double limit;
    if (!PyArg_ParseTuple(args, "Od", &object, &limit)) return NULL;
    Py_buffer view;
    const int writable[1] = {0};
    int kind = get_alike(&object, &view, writable, 1);
    if (kind < 0) return NULL;
    int found = 0;
    rows_of r;
    rows_begin(&r, &view, 1);
    Py_BEGIN_ALLOW_THREADS
    while (!found && next_row(&r)) {
        found = kind == 0 ? f32_any_small((float *)r.at[0], r.length, (float)limit)
                          : f64_any_small((double *)r.at[0], r.length, limit);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyBool_FromLong(found);
}

static PyObject *py_finite(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    const int writable[1] = {0};
    int kind = get_alike(&arg, &view, writable, 1);
    if (kind < 0) return NULL;
    int finite = 1;
    rows_of r;
    rows_begin(&r, &view, 1);
    Py_BEGIN_ALLOW_THREADS
    while (finite && next_row(&r)) {
        finite = kind == 0 ? f32_finite((float *)r.at[0], r.length) : f64_finite((double *)r.at[0], r.length);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyBool_FromLong(finite);
}

/* the largest |v| of `n` values, NaN where one is NaN (`max_abs`, for this CPU's target) */
CLONES static double f64_max_abs(const double *restrict v, Py_ssize_t n) { return max_abs(v, n); }

CLONES static void f64_snap_truncate(double *restrict v, Py_ssize_t n, double limit)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        double nearest = rint(v[i]);
        v[i] = trunc(fabs(v[i] - nearest) <= limit ? nearest : v[i]);
    }
}

static PyObject *py_snap_truncate(PyObject *self, PyObject *args)
{
    PyObject *array;
    double units;
    if (!PyArg_ParseTuple(args, "Od", &array, &units)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(array, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) return NULL;
    if (kind_of(&view) != 1) {
        PyErr_SetString(PyExc_TypeError, "snap_truncate takes a float64 array");
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_ssize_t n = view.len / view.itemsize;
    Py_BEGIN_ALLOW_THREADS
    double largest = f64_max_abs(view.buf, n);
    double scale = 1.0 > largest ? 1.0 : largest;  /* Python's max(largest, 1.0): NaN stays */
    f64_snap_truncate(view.buf, n, units * DBL_EPSILON * scale);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *py_nan_in_sum(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    int kind = kind_of(&view);
    if (kind < 0) {
        PyErr_SetString(PyExc_TypeError, "nan_in_sum takes a float32 or float64 array");
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_ssize_t n = view.len / view.itemsize;
    int found;
    Py_BEGIN_ALLOW_THREADS
    found = kind == 0 ? f32_nan_in_sum(view.buf, n) : f64_nan_in_sum(view.buf, n);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (found < 0) Py_RETURN_NONE;
    return PyBool_FromLong(found);
}

/* A 2-D buffer of `kind` (or of one byte where kind is -2) whose last axis is contiguous, of
   shape rows x cols (checked); 0, or -1 with an error set and the buffer released. */
static int get_plane(PyObject *object, Py_buffer *view, int writable, int kind, Py_ssize_t rows,
                     Py_ssize_t cols, const char *name)
{
    int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object, view, flags) < 0) return -1;
    int ok = view->ndim == 2 && view->shape[0] == rows && view->shape[1] == cols
             && (cols <= 1 || view->strides[1] == view->itemsize)
             && (kind == -2 ? view->itemsize == 1 : kind_of(view) == kind);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "separable: %s must be a 2-D array of %zd x %zd %s with a contiguous "
                     "last axis", name, rows, cols, kind == -2 ? "bools" : "values of the planes' dtype");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *py_separable(PyObject *self, PyObject *args)
{
    PyObject *objects[5];
    double scale, limit;
    int test;
    if (!PyArg_ParseTuple(args, "OOOOOddi", &objects[0], &objects[1], &objects[2], &objects[3], &objects[4],
                          &scale, &limit, &test))
        return NULL;
    if (test < 0 || test > 2) {
        PyErr_SetString(PyExc_ValueError, "test must be 0 (d <= limit), 1 (|d| <= limit) or 2 (d < limit)");
        return NULL;
    }
    Py_buffer views[5];
    int got = 0;
    if (PyObject_GetBuffer(objects[0], &views[0], PyBUF_STRIDES | PyBUF_FORMAT) < 0) return NULL;
    got = 1;
    int in_kind = kind_of(&views[0]);
    if (in_kind < 0 || views[0].ndim != 2 || (views[0].shape[1] > 1 && views[0].strides[1] != views[0].itemsize)) {
        PyErr_SetString(PyExc_TypeError, "separable: extended must be a 2-D float32 or float64 array with a "
                        "contiguous last axis");
        goto fail;
    }
    if (PyObject_GetBuffer(objects[1], &views[1], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) goto fail;
    got = 2;
    int kind = kind_of(&views[1]);
    if (kind < in_kind) {
        PyErr_SetString(PyExc_TypeError, "separable: the factors' dtype (the sums') must be float32 or float64, "
                        "at least as wide as extended's");
        goto fail;
    }
    if (PyObject_GetBuffer(objects[2], &views[2], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) goto fail;
    got = 3;
    for (int f = 1; f < 3; f++) {
        if (kind_of(&views[f]) != kind || views[f].ndim != 1 || views[f].shape[0] < 1) {
            PyErr_SetString(PyExc_TypeError, "separable: the factors must be non-empty 1-D arrays of one dtype");
            goto fail;
        }
    }
    Py_ssize_t kv = views[1].shape[0], kh = views[2].shape[0];
    Py_ssize_t rows = views[0].shape[0] - kv + 1, cols = views[0].shape[1] - kh + 1;
    if (rows < 1 || cols < 1) {
        PyErr_SetString(PyExc_ValueError, "separable: the extended band must be at least as large as the kernel");
        goto fail;
    }
    /* out: of the sums' dtype, or float32 for float64 sums */
    int narrow_out = 0;
    if (kind == 1) {
        if (PyObject_GetBuffer(objects[3], &views[3], PyBUF_STRIDES | PyBUF_FORMAT) < 0) goto fail;
        narrow_out = kind_of(&views[3]) == 0;
        PyBuffer_Release(&views[3]);
    }
    if (get_plane(objects[3], &views[3], 1, narrow_out ? 0 : kind, rows, cols, "out") < 0) goto fail;
    got = 4;
    if (get_plane(objects[4], &views[4], 1, -2, rows, cols, "empty") < 0) goto fail;
    got = 5;
    Py_ssize_t itemsize = views[1].itemsize, width = cols + kh - 1, count = 0;
    void *scratch = PyMem_RawMalloc((size_t)(2 * width + 2 * cols + 2 * kv * width) * (size_t)itemsize);
    void *ring = PyMem_RawMalloc((size_t)(2 * kv) * sizeof(void *));
    if (scratch == NULL || ring == NULL) {
        PyMem_RawFree(scratch);
        PyMem_RawFree(ring);
        PyErr_NoMemory();
        goto fail;
    }
    const char *extended = views[0].buf;
    char *out = views[3].buf, *empty = views[4].buf;
    Py_ssize_t in_stride = views[0].strides[0], out_stride = views[3].strides[0], empty_stride = views[4].strides[0];
    Py_BEGIN_ALLOW_THREADS
    if (kind == 0) {
        f32_band band = {extended, in_stride, 0, 0, test, views[1].buf, views[2].buf, kv, kh, rows, cols,
                         out_stride, empty_stride, out, empty, (float)scale, (float)limit, scratch, ring,
                         (const float **)ring + kv};
        count = f32_separable(&band);
    } else {
        f64_band band = {extended, in_stride, in_kind == 1, narrow_out, test, views[1].buf, views[2].buf, kv, kh,
                         rows, cols, out_stride, empty_stride, out, empty, scale, limit, scratch, ring,
                         (const double **)ring + kv};
        count = f64_separable(&band);
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(scratch);
    PyMem_RawFree(ring);
    for (int i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    return PyLong_FromSsize_t(count);
fail:
    for (int i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    return NULL;
}

static PyObject *py_separable_ring(PyObject *self, PyObject *args)
{
    Py_ssize_t kv, kh, cols, itemsize;
    if (!PyArg_ParseTuple(args, "nnnn", &kv, &kh, &cols, &itemsize))
        return NULL;
    if (kv < 1 || kh < 1 || cols < 1 || (itemsize != 4 && itemsize != 8)) {
        PyErr_SetString(PyExc_ValueError, "separable_ring: taps and columns must be positive, itemsize 4 or 8");
        return NULL;
    }
    return PyLong_FromSsize_t(ring_bytes(kv, kh, cols, itemsize));
}

static PyMethodDef methods[] = {
    {"split", py_split, METH_VARARGS,
     "split(values, weights[, source[, less_one]]) -> all finite: holes (NaN) of values (or of source, read "
     "into values) zeroed, weights 1 or 0 (0 or -1 with less_one); see the source."},
    {"divide", py_divide, METH_VARARGS,
     "divide(numerator, denominator, out, limit, test[, offset[, small]]) -> (outputs with an empty "
     "denominator, outputs whose |denominator| is below small); see the source."},
    {"any_small", py_any_small, METH_VARARGS,
     "any_small(values, limit) -> whether any |value| is below limit; see the source."},
    {"finite", py_finite, METH_O, "finite(values) -> whether every value is finite; see the source."},
    {"snap_truncate", py_snap_truncate, METH_VARARGS,
     "snap_truncate(values, units) -> None: float64 sums snapped and truncated in place; see the source."},
    {"separable", py_separable, METH_VARARGS,
     "separable(extended, fv, fh, out, empty, scale, limit, test) -> empty outputs (-1: an infinity "
     "was read): a band's normalised filter by a rank-1 kernel; see the source."},
    {"separable_ring", py_separable_ring, METH_VARARGS,
     "separable_ring(kv, kh, cols, itemsize) -> bytes of the ring of rows separable keeps; see the source."},
    {"nan_in_sum", py_nan_in_sum, METH_O,
     "nan_in_sum(values) -> whether the array's float64 sum would be NaN (None: unknown); see the source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_float_passes",
                                    "One-pass loops over float arrays (see float_passes.c).", -1, methods};

PyMODINIT_FUNC PyInit__float_passes(void) { return PyModule_Create(&module); }
