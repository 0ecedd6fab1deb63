/* One 1-D pass of a separable filter over an integer image, reading and writing its integers
 * (`fftconv.engine.integer_passes`).
 *
 * pass1d(source, target, taps, box, index_map, at, cval) -> None. source and target are
 * C-contiguous arrays of one shape (outer, n, inner) of 8- or 16-bit integers (signed or not,
 * each its own); the pass runs along the middle axis. Output i sums extended samples
 * i .. i + L - 1 of its line, where extended sample e is the line's sample index_map[e] (int64,
 * n + L - 1 of them), or cval where that is -1; the line itself is extended samples
 * at .. at + n - 1. With taps (int32, L of them) the output is the exact sum of taps[k] times
 * sample i + k; with box = L (taps None) it is the exact sum divided by L, truncated toward zero
 * (scipy.ndimage's cast of a mean; fftconv's snap is moot: a mean that is not an integer lies at
 * least 1 / L from one). Either is written into the target's integers modulo 2^bits, as NumPy's
 * cast and scipy's C cast write float sums within the int32 range. The caller bounds every sum to
 * int32 (the casts part past it) and gives a
 * target apart from the source where the pass does not run along the last axis (inner > 1: a
 * row the sums still read would be overwritten).
 *
 * float_pass1d(source, target, taps, box, index_map, at, cval, units) -> None: the same pass with
 * float64 taps (and a float cval) over 8-, 16- or 32-bit integers, summed in double, each sum of
 * the taps in ascending order (with box > 1 the taps are ones and each sum is then multiplied by
 * 1 / box: scipy's mean of a box, see scale_row), then cast as fftconv's rule casts float sums
 * into integers (`fftconv.core.dtypes.cast`: with scale = max(max |sum|, 1) over the pass, a sum
 * within units * DBL_EPSILON * scale of its nearest integer becomes it; then truncated and
 * written as scipy.ndimage's C cast writes a double: into uint32 through int64, modulo 2^32; into
 * the others through int32, modulo 2^bits, a value past the int32 range being INT32_MIN's low
 * bits, as x86's conversion gives them). The caller bounds every sum's magnitude to 2^53.
 *
 * Why: scipy.ndimage's loops sum integers in double and fftconv's rule then snaps and truncates
 * them, a pass of float64 writes and a pass of casts each; on a 128x128 uint8 image a box of 5
 * took 48 us a pass on scipy's loop into float64 (its own into uint8: 33) and its cast 10 more.
 *
 * Along the last axis (inner == 1) each line is read once into a buffer with its halo, then
 * summed along it (shifted vector sums; a long box as a running sum). Along another axis the
 * sums run across a chunk or strip of columns at a time, all vectorised across the columns: a
 * whole row of taps per output row (a box: its running sum, one row added and one taken away).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "max_abs.h"
#include "target_clones.h"

enum { I8, U8, I16, U16, I32, U32, KINDS };

/* Columns of a chunk summed together along another axis: its int32 sums stay in L1. */
#define CHUNK 2048
/* Boxes up to this long are summed as shifted sums along a line; longer ones as running sums. */
#define SHORT_BOX 16
/* Passes of up to this many outputs keep their double sums for the cast (2 MiB). */
#define KEPT_SUMS (1 << 18)

static int kind_of(const Py_buffer *view)
{
    const char *f = view->format ? view->format : "B";
    if (*f == '=' || *f == '<' || *f == '@') f++;
    if (f[0] == '\0' || f[1] != '\0') return -1;
    switch (f[0]) {
    case 'b': return view->itemsize == 1 ? I8 : -1;
    case 'B': return view->itemsize == 1 ? U8 : -1;
    case 'h': return view->itemsize == 2 ? I16 : -1;
    case 'H': return view->itemsize == 2 ? U16 : -1;
    case 'i': case 'l': return view->itemsize == 4 ? I32 : -1;
    case 'I': case 'L': return view->itemsize == 4 ? U32 : -1;
    default: return -1;
    }
}

/* NAME(src, kind, dst, n): n samples of kind `kind` from src into dst, of T (the sums' type). */
#define DEFINE_LOAD(NAME, T)                                                                        \
    CLONES static void NAME(const void *src, int kind, T *restrict dst, Py_ssize_t n)                 \
    {                                                                                               \
        switch (kind) {                                                                             \
        case I8: { const int8_t *s = src; for (Py_ssize_t c = 0; c < n; c++) dst[c] = s[c]; break; }  \
        case U8: { const uint8_t *s = src; for (Py_ssize_t c = 0; c < n; c++) dst[c] = s[c]; break; } \
        case I16: { const int16_t *s = src; for (Py_ssize_t c = 0; c < n; c++) dst[c] = s[c]; break; }\
        case U16: { const uint16_t *s = src; for (Py_ssize_t c = 0; c < n; c++) dst[c] = s[c]; break; }\
        case I32: { const int32_t *s = src; for (Py_ssize_t c = 0; c < n; c++) dst[c] = s[c]; break; }\
        default: { const uint32_t *s = src; for (Py_ssize_t c = 0; c < n; c++) dst[c] = s[c]; break; }\
        }                                                                                           \
    }

DEFINE_LOAD(load, int32_t) /* (8- and 16-bit kinds only: pass1d refuses the others) */
DEFINE_LOAD(load_double, double)

/* n box sums divided by the box in place, toward zero. A division a sample cost more than the
   rest of the pass; the product with 1 / box is within 2^-21 / box of the quotient (|sum| < 2^31),
   and a quotient that is not whole lies at least 1 / box from the next whole one away from zero,
   so adding half that to the magnitude before truncating gives the exact quotient's truncation. */
CLONES static void divide(int32_t *sums, Py_ssize_t n, int32_t box)
{
    const double inverse = 1.0 / box, half = 0.5 / box;
    for (Py_ssize_t c = 0; c < n; c++) {
        double s = sums[c];
        int32_t q = (int32_t)(fabs(s) * inverse + half);
        sums[c] = s < 0 ? -q : q;
    }
}

/* n int32 sums into dst's integers modulo 2^bits; with box > 1, each first divided by it (the sums
   are the caller's scratch). */
CLONES static void store(int32_t *src, int kind, void *dst, Py_ssize_t n, int32_t box)
{
    if (box > 1) divide(src, n, box);
    switch (kind) {
    case I8: { int8_t *d = dst; for (Py_ssize_t c = 0; c < n; c++) d[c] = (int8_t)(uint8_t)src[c]; break; }
    case U8: { uint8_t *d = dst; for (Py_ssize_t c = 0; c < n; c++) d[c] = (uint8_t)src[c]; break; }
    case I16: { int16_t *d = dst; for (Py_ssize_t c = 0; c < n; c++) d[c] = (int16_t)(uint16_t)src[c]; break; }
    default: { uint16_t *d = dst; for (Py_ssize_t c = 0; c < n; c++) d[c] = (uint16_t)src[c]; break; }
    }
}

/* sums[i] = sum over k < L of taps[k] * ext[i + k] (taps NULL: all 1), i < n. */
CLONES static void line_sums(const int32_t *restrict ext, const int32_t *taps, Py_ssize_t L, Py_ssize_t n,
                             int32_t *restrict sums)
{
    if (taps == NULL && L > SHORT_BOX) {
        int32_t s = 0;
        for (Py_ssize_t k = 0; k < L; k++) s += ext[k];
        sums[0] = s;
        for (Py_ssize_t i = 1; i < n; i++) {
            s += ext[i + L - 1] - ext[i - 1];
            sums[i] = s;
        }
        return;
    }
    for (Py_ssize_t i = 0; i < n; i++) sums[i] = taps == NULL ? ext[i] : taps[0] * ext[i];
    for (Py_ssize_t k = 1; k < L; k++) {
        const int32_t t = taps == NULL ? 1 : taps[k];
        const int32_t *e = ext + k;
        if (t == 0) continue;
        if (t == 1)
            for (Py_ssize_t i = 0; i < n; i++) sums[i] += e[i];
        else if (t == -1)
            for (Py_ssize_t i = 0; i < n; i++) sums[i] -= e[i];
        else
            for (Py_ssize_t i = 0; i < n; i++) sums[i] += t * e[i];
    }
}

/* The pass along the last axis: each of `lines` lines of n samples. */
static void along_lines(const char *src, int in_kind, Py_ssize_t in_size, char *dst, int out_kind,
                        Py_ssize_t out_size, Py_ssize_t lines, Py_ssize_t n, const int32_t *taps, Py_ssize_t L,
                        const int64_t *map, Py_ssize_t at, int32_t cval, int32_t *ext, int32_t *sums)
{
    Py_ssize_t width = n + L - 1;
    for (Py_ssize_t line = 0; line < lines; line++) {
        const char *row = src + line * n * in_size;
        load(row, in_kind, ext + at, n); /* the line itself, then its halo from it */
        for (Py_ssize_t e = 0; e < at; e++) ext[e] = map[e] < 0 ? cval : ext[at + map[e]];
        for (Py_ssize_t e = at + n; e < width; e++) ext[e] = map[e] < 0 ? cval : ext[at + map[e]];
        line_sums(ext, taps, L, n, sums);
        store(sums, out_kind, dst + line * n * out_size, n, taps == NULL ? (int32_t)L : 1);
    }
}

/* acc[c] += t * row[c] for c < m, row of kind `kind` (NULL: the constant cval). */
CLONES static void add_row(int32_t *restrict acc, const void *row, int kind, int32_t t, int32_t cval,
                           Py_ssize_t m)
{
    if (row == NULL) {
        for (Py_ssize_t c = 0; c < m; c++) acc[c] += t * cval;
        return;
    }
    switch (kind) {
    case I8: { const int8_t *s = row; for (Py_ssize_t c = 0; c < m; c++) acc[c] += t * s[c]; break; }
    case U8: { const uint8_t *s = row; for (Py_ssize_t c = 0; c < m; c++) acc[c] += t * s[c]; break; }
    case I16: { const int16_t *s = row; for (Py_ssize_t c = 0; c < m; c++) acc[c] += t * s[c]; break; }
    default: { const uint16_t *s = row; for (Py_ssize_t c = 0; c < m; c++) acc[c] += t * s[c]; break; }
    }
}

/* The pass along the middle axis of (outer, n, inner), inner > 1: rows of `inner` samples. */
static void across_rows(const char *src, int in_kind, Py_ssize_t in_size, char *dst, int out_kind,
                        Py_ssize_t out_size, Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner,
                        const int32_t *taps, Py_ssize_t L, const int64_t *map, int32_t cval, int32_t *acc,
                        int32_t *out)
{
    for (Py_ssize_t o = 0; o < outer; o++) {
        const char *plane = src + o * n * inner * in_size;
        char *into = dst + o * n * inner * out_size;
        for (Py_ssize_t c0 = 0; c0 < inner; c0 += CHUNK) {
            Py_ssize_t m = inner - c0 < CHUNK ? inner - c0 : CHUNK;
#define ROW(e) (map[e] < 0 ? NULL : (const void *)(plane + (map[e] * inner + c0) * in_size))
            if (taps == NULL) { /* a box: its running sum down the rows */
                memset(acc, 0, m * sizeof(int32_t));
                for (Py_ssize_t k = 0; k < L; k++) add_row(acc, ROW(k), in_kind, 1, cval, m);
                for (Py_ssize_t i = 0; i < n; i++) {
                    if (i > 0) {
                        add_row(acc, ROW(i + L - 1), in_kind, 1, cval, m);
                        add_row(acc, ROW(i - 1), in_kind, -1, cval, m);
                    }
                    memcpy(out, acc, m * sizeof(int32_t));
                    store(out, out_kind, into + (i * inner + c0) * out_size, m, (int32_t)L);
                }
            } else {
                for (Py_ssize_t i = 0; i < n; i++) {
                    memset(out, 0, m * sizeof(int32_t));
                    for (Py_ssize_t k = 0; k < L; k++)
                        if (taps[k] != 0) add_row(out, ROW(i + k), in_kind, taps[k], cval, m);
                    store(out, out_kind, into + (i * inner + c0) * out_size, m, 1);
                }
            }
#undef ROW
        }
    }
}

/* ---- taps that are not whole numbers: double sums, snapped and truncated ------------------- */

/* The first m samples of extended row `j` (-1: the constant) of rows `inner` samples apart from
   `columns` on, as doubles into `into`. */
CLONES static void convert_row(double *restrict into, const char *columns, int64_t j, int kind, Py_ssize_t size,
                               Py_ssize_t inner, Py_ssize_t m, double cval)
{
    if (j < 0)
        for (Py_ssize_t c = 0; c < m; c++) into[c] = cval;
    else
        load_double(columns + j * inner * size, kind, into, m);
}

/* The columns of a strip whose ring of L double rows fits in 32 KiB, a multiple of 64, at least 64. */
static Py_ssize_t strip_width(Py_ssize_t L)
{
    Py_ssize_t width = (4096 / L) / 64 * 64;
    return width < 64 ? 64 : width;
}

/* Outputs summed BLOCK at a time in registers over every tap, stored once (summing the taps one
   at a time into the outputs stored and loaded them at every tap: half of a pass). */
#define BLOCK 64

/* sums[c] = sum over k of taps[k] * rows[k][c] for c < m, k ascending, zero taps skipped. */
CLONES static void row_of_sums(const double *const *rows, const double *taps, Py_ssize_t L, Py_ssize_t m,
                               double *restrict sums)
{
    Py_ssize_t c = 0;
    for (; c + BLOCK <= m; c += BLOCK) {
        double acc[BLOCK] = {0.0};
        for (Py_ssize_t k = 0; k < L; k++) {
            const double t = taps[k], *r = rows[k] + c;
            if (t != 0.0)
                for (int j = 0; j < BLOCK; j++) acc[j] += t * r[j];
        }
        memcpy(sums + c, acc, sizeof acc);
    }
    for (; c < m; c++) {
        double acc = 0.0;
        for (Py_ssize_t k = 0; k < L; k++)
            if (taps[k] != 0.0) acc += taps[k] * rows[k][c];
        sums[c] = acc;
    }
}

/* What double_sums does with each row of sums it makes (a line's, or an output row's). */
enum { KEEP, LARGEST, STORE };
typedef struct {
    int does;        /* KEEP: into `sums` at the row's place; LARGEST: its largest magnitude into
                        `largest`; STORE: snapped within `limit` and written into `dst` */
    double *sums;    /* KEEP: the whole pass's sums; else one row's */
    double largest, limit;
    double inverse;  /* < 1: each sum is multiplied by it first (1 / box: a box's mean) */
    char *dst;
    int out_kind;
    Py_ssize_t out_size;
} sink;

static double largest_magnitude(const double *v, Py_ssize_t n);
static void snap_store(const double *restrict v, int kind, void *dst, Py_ssize_t n, double limit);

static double *row_for(sink *to, Py_ssize_t offset) { return to->does == KEEP ? to->sums + offset : to->sums; }

/* A box's means from its sums: products with 1 / box, within two roundings (2^-52 of the
   magnitude) of the quotients. The snap brings a whole quotient back to it (that error is within
   64 eps of the pass's largest mean); one that is not whole lies at least 1 / box (box <= WIDE_BOX,
   16) from the nearest whole number, past the snap's reach and the error (the caller bounds the
   samples and cval to 2^40: the reach to 2^-6): the cast is the exact quotient's. (A division a
   sample took half of a 64x64 int32 pass.) */
CLONES static void scale_row(double *row, Py_ssize_t m, double inverse)
{
    for (Py_ssize_t c = 0; c < m; c++) row[c] *= inverse;
}

static void put(sink *to, Py_ssize_t offset, Py_ssize_t m)
{
    if (to->inverse < 1.0) scale_row(row_for(to, offset), m, to->inverse);
    if (to->does == LARGEST) {
        double largest = largest_magnitude(to->sums, m);
        to->largest = largest > to->largest ? largest : to->largest;
    } else if (to->does == STORE)
        snap_store(to->sums, to->out_kind, to->dst + offset * to->out_size, m, to->limit);
}

/* The double sums of the pass, row by row into `to`: each output the sum of taps[k] times its
   k-th extended sample, k ascending (a tap of 0 skipped, as scipy's loop skips it). */
CLONES static void double_sums(const char *src, int kind, Py_ssize_t size, Py_ssize_t outer, Py_ssize_t n,
                               Py_ssize_t inner, const double *taps, Py_ssize_t L, const int64_t *map,
                               Py_ssize_t at, double cval, double *ext, double *ring, sink *to)
{
    Py_ssize_t width = n + L - 1;
    for (Py_ssize_t o = 0; o < outer; o++) {
        const char *plane = src + o * n * inner * size;
        Py_ssize_t first = o * n * inner;
        if (inner == 1) {
            load_double(plane, kind, ext + at, n);
            for (Py_ssize_t e = 0; e < at; e++) ext[e] = map[e] < 0 ? cval : ext[at + map[e]];
            for (Py_ssize_t e = at + n; e < width; e++) ext[e] = map[e] < 0 ? cval : ext[at + map[e]];
            const double *shifted[L]; /* the line's sums are rows' sums: row k the line shifted by k */
            for (Py_ssize_t k = 0; k < L; k++) shifted[k] = ext + k;
            row_of_sums(shifted, taps, L, n, row_for(to, first));
            put(to, first, n);
            continue;
        }
        /* a strip of columns at a time down the plane, its extended rows in double in a ring that
           stays in L1: ring[e % L] holds extended row e, each converted once (converting a row of
           bytes for each of its taps took 41 % of a pass; whole rows in the ring, 2048 wide, left
           the sums waiting on L2 for half the pass) */
        Py_ssize_t strip = strip_width(L);
        for (Py_ssize_t c0 = 0; c0 < inner; c0 += strip) {
            Py_ssize_t m = inner - c0 < strip ? inner - c0 : strip;
            const char *columns = plane + c0 * size;
            for (Py_ssize_t e = 0; e < L - 1; e++)
                convert_row(ring + (e % L) * strip, columns, map[e], kind, size, inner, m, cval);
            for (Py_ssize_t i = 0; i < n; i++) {
                Py_ssize_t newest = i + L - 1, at_row = first + i * inner + c0;
                convert_row(ring + (newest % L) * strip, columns, map[newest], kind, size, inner, m, cval);
                const double *rows[L];
                for (Py_ssize_t k = 0; k < L; k++) rows[k] = ring + ((i + k) % L) * strip;
                row_of_sums(rows, taps, L, m, row_for(to, at_row));
                put(to, at_row, m);
            }
        }
    }
}

/* max |v| (`max_abs`, for this CPU's target) */
CLONES static double largest_magnitude(const double *v, Py_ssize_t n) { return max_abs(v, n); }

/* A truncated double as x86's conversion into int32 gives it (scipy's C cast and NumPy's there):
   itself within the int32 range, else INT32_MIN. */
static inline uint32_t as_int32_bits(double t)
{
    /* a select of doubles, then an in-range conversion: the loops below stay vectorised */
    const double in_range = t > -2147483649.0 && t < 2147483648.0 ? t : -2147483648.0;
    return (uint32_t)(int32_t)in_range;
}

/* fftconv's cast of float sums into integers (`fftconv.core.dtypes.cast`): a sum within `limit`
   of its nearest integer becomes it, then each is truncated, and written as scipy.ndimage's C cast
   writes it (see the top; the caller bounds the sums to 2^53). */
CLONES static void snap_store(const double *restrict v, int kind, void *dst, Py_ssize_t n, double limit)
{
#define SNAPPED(c) trunc(fabs(v[c] - rint(v[c])) <= limit ? rint(v[c]) : v[c])
#define BITS(c) as_int32_bits(SNAPPED(c))
    switch (kind) {
    case I8: { int8_t *d = dst; for (Py_ssize_t c = 0; c < n; c++) d[c] = (int8_t)(uint8_t)BITS(c); break; }
    case U8: { uint8_t *d = dst; for (Py_ssize_t c = 0; c < n; c++) d[c] = (uint8_t)BITS(c); break; }
    case I16: { int16_t *d = dst; for (Py_ssize_t c = 0; c < n; c++) d[c] = (int16_t)(uint16_t)BITS(c); break; }
    case U16: { uint16_t *d = dst; for (Py_ssize_t c = 0; c < n; c++) d[c] = (uint16_t)BITS(c); break; }
    case I32: { int32_t *d = dst; for (Py_ssize_t c = 0; c < n; c++) d[c] = (int32_t)BITS(c); break; }
    default: { uint32_t *d = dst; for (Py_ssize_t c = 0; c < n; c++) d[c] = (uint32_t)(int64_t)SNAPPED(c); break; }
    }
#undef BITS
#undef SNAPPED
}

/* A pass's operands: the source, the target, the map and the taps (None: a box of `box`), taken
   as views and checked; `views` holds `*count` of them to release. */
typedef struct {
    Py_buffer views[4];
    int count, in_kind, out_kind;
    Py_ssize_t outer, n, inner, L;
} operands;

static int take(operands *ops, PyObject *source, PyObject *target, PyObject *map_object, PyObject *taps,
                Py_ssize_t taps_itemsize, Py_ssize_t box, Py_ssize_t at)
{
    PyObject *objects[4] = {source, target, map_object, taps};
    const int readable = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
    ops->count = 0;
    for (int i = 0; i < (taps == Py_None ? 3 : 4); i++) {
        if (PyObject_GetBuffer(objects[i], &ops->views[i], i == 1 ? readable | PyBUF_WRITABLE : readable) < 0)
            return -1;
        ops->count++;
    }
    Py_buffer *v = ops->views;
    ops->in_kind = kind_of(&v[0]);
    ops->out_kind = kind_of(&v[1]);
    if (ops->in_kind < 0 || ops->out_kind < 0 || v[0].ndim != 3 || v[1].ndim != 3 || v[2].ndim != 1
        || v[2].itemsize != 8 || (ops->count == 4 && (v[3].ndim != 1 || v[3].itemsize != taps_itemsize))) {
        PyErr_SetString(PyExc_TypeError, "a pass takes 3-D 8-, 16- or 32-bit integer arrays, an int64 map "
                                         "and its taps (int32 for pass1d, float64 for float_pass1d)");
        return -1;
    }
    ops->outer = v[0].shape[0];
    ops->n = v[0].shape[1];
    ops->inner = v[0].shape[2];
    ops->L = ops->count == 4 ? v[3].shape[0] : box;
    for (int d = 0; d < 3; d++)
        if (v[1].shape[d] != v[0].shape[d]) {
            PyErr_SetString(PyExc_ValueError, "the target must have the source's shape");
            return -1;
        }
    Py_ssize_t n = ops->n, L = ops->L;
    if (L < 1 || n < 1 || v[2].shape[0] != n + L - 1 || at < 0 || at > L - 1) {
        PyErr_SetString(PyExc_ValueError, "the map must hold n + L - 1 source indices (L >= 1), the line "
                                          "starting at one of its first L");
        return -1;
    }
    const int64_t *map = v[2].buf;
    for (Py_ssize_t e = 0; e < n + L - 1; e++)
        if (map[e] < -1 || map[e] >= n || (e >= at && e < at + n && map[e] != e - at)) {
            PyErr_SetString(PyExc_ValueError, "the map's indices must lie in [-1, n), the line's own in order");
            return -1;
        }
    return 0;
}

static void release(operands *ops)
{
    for (int i = 0; i < ops->count; i++) PyBuffer_Release(&ops->views[i]);
}

static PyObject *py_pass1d(PyObject *self, PyObject *args)
{
    PyObject *source, *target, *taps_object, *map_object;
    Py_ssize_t box, at;
    long cval;
    if (!PyArg_ParseTuple(args, "OOOnOnl", &source, &target, &taps_object, &box, &map_object, &at, &cval))
        return NULL;
    operands ops;
    if (take(&ops, source, target, map_object, taps_object, 4, box, at) < 0) {
        release(&ops);
        return NULL;
    }
    if (ops.in_kind > U16 || ops.out_kind > U16) {
        release(&ops);
        PyErr_SetString(PyExc_TypeError,
                        "pass1d takes 8- and 16-bit integers (float_pass1d takes 32-bit ones)");
        return NULL;
    }
    Py_buffer *v = ops.views;
    Py_ssize_t n = ops.n, L = ops.L, inner = ops.inner;
    Py_ssize_t scratch = inner > 1 ? 2 * (inner < CHUNK ? inner : CHUNK) : 2 * (n + L);
    int32_t *buffer = PyMem_Malloc(scratch * sizeof(int32_t));
    if (buffer == NULL) {
        release(&ops);
        return PyErr_NoMemory();
    }
    const int32_t *taps = ops.count == 4 ? v[3].buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (inner == 1)
        along_lines(v[0].buf, ops.in_kind, v[0].itemsize, v[1].buf, ops.out_kind, v[1].itemsize, ops.outer, n,
                    taps, L, v[2].buf, at, (int32_t)cval, buffer, buffer + n + L);
    else
        across_rows(v[0].buf, ops.in_kind, v[0].itemsize, v[1].buf, ops.out_kind, v[1].itemsize, ops.outer, n,
                    inner, taps, L, v[2].buf, (int32_t)cval, buffer, buffer + scratch / 2);
    Py_END_ALLOW_THREADS
    PyMem_Free(buffer);
    release(&ops);
    Py_RETURN_NONE;
}

static PyObject *py_float_pass1d(PyObject *self, PyObject *args)
{
    PyObject *source, *target, *taps_object, *map_object;
    Py_ssize_t box, at;
    double cval, units;
    if (!PyArg_ParseTuple(args, "OOOnOndd", &source, &target, &taps_object, &box, &map_object, &at, &cval,
                          &units))
        return NULL;
    operands ops;
    if (taps_object == Py_None) {
        PyErr_SetString(PyExc_TypeError, "float_pass1d takes float64 taps");
        return NULL;
    }
    if (take(&ops, source, target, map_object, taps_object, 8, 0, at) < 0) {
        release(&ops);
        return NULL;
    }
    Py_buffer *v = ops.views;
    Py_ssize_t n = ops.n, L = ops.L, inner = ops.inner, total = ops.outer * n * inner;
    /* the sums of a pass up to KEPT_SUMS are kept for their cast; a larger pass is summed twice,
       once for their largest magnitude (the snap's scale), once to cast them row by row: its
       kept sums had been memory met anew at each call (2048² 32 against 12 ms a pass) */
    int twice = total > KEPT_SUMS;
    Py_ssize_t kept = twice ? (inner > 1 ? inner : n) : total, ring = inner > 1 ? L * strip_width(L) : 0;
    double *sums = PyMem_Malloc((kept + n + L + ring) * sizeof(double));
    if (sums == NULL) {
        release(&ops);
        return PyErr_NoMemory();
    }
    sink to = {twice ? LARGEST : KEEP, sums, 0.0, 0.0, box > 1 ? 1.0 / (double)box : 1.0, v[1].buf,
               ops.out_kind, v[1].itemsize};
    Py_BEGIN_ALLOW_THREADS
    double_sums(v[0].buf, ops.in_kind, v[0].itemsize, ops.outer, n, inner, v[3].buf, L, v[2].buf, at, cval,
                sums + kept, sums + kept + n + L, &to);
    double largest = twice ? to.largest : largest_magnitude(sums, total);
    double limit = units * DBL_EPSILON * (largest > 1.0 ? largest : 1.0);
    if (twice) {
        to.does = STORE;
        to.limit = limit;
        double_sums(v[0].buf, ops.in_kind, v[0].itemsize, ops.outer, n, inner, v[3].buf, L, v[2].buf, at, cval,
                    sums + kept, sums + kept + n + L, &to);
    } else
        snap_store(sums, ops.out_kind, v[1].buf, total, limit);
    Py_END_ALLOW_THREADS
    PyMem_Free(sums);
    release(&ops);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"pass1d", py_pass1d, METH_VARARGS,
     "pass1d(source, target, taps, box, index_map, at, cval): one exact integer pass; see the source."},
    {"float_pass1d", py_float_pass1d, METH_VARARGS,
     "float_pass1d(source, target, taps, box, index_map, at, cval, units): one pass summed in double, cast by "
     "fftconv's rule; see the source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_integer_passes",
                                    "One 1-D pass of an integer image (see the source).", -1,
                                    methods};

PyMODINIT_FUNC PyInit__integer_passes(void) { return PyModule_Create(&module); }
