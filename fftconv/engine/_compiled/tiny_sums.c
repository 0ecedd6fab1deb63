/* A tiny call's direct sum in one C call: the answer of `fftconv.engine.shifted_sums` without
 * NumPy's machinery, whose first use of each operation costs a fresh process 10-25 us (a tiny
 * call's whole first call took 0.11-0.22 ms in NumPy, scipy's compiled loops 0.03-0.07 ms).
 *
 * Each output is summed over the kernel's taps in C order from zero, with no fused
 * multiply-add (built with -ffp-contract=off): the same additions in the same order as the
 * NumPy sums, so the same bits.
 *
 * signal(a, b, out, shift, correlate): out[i] = sum over taps t of a[i + shift - t] * c[t]
 * where the index is inside a (scipy.signal's zero fill), c = b to convolve, c[t] =
 * conj(b[k - 1 - t]) to correlate; summed in the arrays' dtype (float32, float64, complex64
 * or complex128), as scipy.signal sums them. `shift` is per axis: 0 for 'full', (k - 1) // 2
 * for 'same', k - 1 for 'valid'.
 *
 * ndimage(x, w, out, mode, cval, convolution): scipy.ndimage's correlate (convolve: w reversed
 * and its centre on the other side of an even axis) of a float32 or float64 image x with
 * float64 weights w, every axis of w at most x's, each output summed in double and rounded
 * once to out's dtype (x's), leaving out weights within DBL_EPSILON of zero (and NaN) as
 * scipy's loop does. mode: 0 reflect (and grid-mirror), 1 mirror, 2 nearest, 3 wrap (and
 * grid-wrap), 4 constant (and grid-constant: cval).
 *
 * Arrays are C-contiguous, of 1 to 3 dimensions, a and b (x and w) of as many; the output's
 * shape is the caller's. They keep the GIL: a sum takes microseconds, and releasing the GIL
 * for it hands the interpreter to any thread waiting for it (a background import) for as long
 * as that thread keeps it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "buffer_kinds.h"

#define MAX_DIMS 3

/* A view's shape as three axes, leading ones of length 1. */
static void shape3(const Py_buffer *view, Py_ssize_t *shape)
{
    int pad = MAX_DIMS - view->ndim;
    for (int d = 0; d < MAX_DIMS; d++) shape[d] = d < pad ? 1 : view->shape[d - pad];
}

/* The loops run tap by tap, each adding its products into every output it reaches: each
   output still sums its taps in C order from zero, and the inner loop runs along a row. */

/* ---- scipy.signal: zero fill --------------------------------------------------------- */

/* The outputs i of an axis that tap t reaches: 0 <= i + shift - t < n, 0 <= i < o. */
static void reach(Py_ssize_t t, Py_ssize_t shift, Py_ssize_t n, Py_ssize_t o, Py_ssize_t *lo, Py_ssize_t *hi)
{
    *lo = t - shift > 0 ? t - shift : 0;
    *hi = n + t - shift < o ? n + t - shift : o;
}

#define DEFINE_SIGNAL_REAL(T, NAME)                                                                 \
    static void NAME##_signal(const T *a, const Py_ssize_t *n, const T *b, const Py_ssize_t *k,    \
                              T *restrict out, const Py_ssize_t *o, const Py_ssize_t *shift,       \
                              int correlate)                                                        \
    {                                                                                               \
        memset(out, 0, (size_t)(o[0] * o[1] * o[2]) * sizeof(T));                                   \
        Py_ssize_t lo[MAX_DIMS], hi[MAX_DIMS];                                                      \
        for (Py_ssize_t t0 = 0; t0 < k[0]; t0++)                                                    \
            for (Py_ssize_t t1 = 0; t1 < k[1]; t1++)                                                \
                for (Py_ssize_t t2 = 0; t2 < k[2]; t2++) {                                          \
                    T c = correlate ? b[((k[0] - 1 - t0) * k[1] + k[1] - 1 - t1) * k[2] + k[2] - 1 - t2] \
                                    : b[(t0 * k[1] + t1) * k[2] + t2];                              \
                    reach(t0, shift[0], n[0], o[0], &lo[0], &hi[0]);                                \
                    reach(t1, shift[1], n[1], o[1], &lo[1], &hi[1]);                                \
                    reach(t2, shift[2], n[2], o[2], &lo[2], &hi[2]);                                \
                    for (Py_ssize_t i0 = lo[0]; i0 < hi[0]; i0++)                                   \
                        for (Py_ssize_t i1 = lo[1]; i1 < hi[1]; i1++) {                             \
                            T *row = out + (i0 * o[1] + i1) * o[2];                                 \
                            /* a[from + i2] for the reached i2: from may be negative, not from + i2 */ \
                            Py_ssize_t from = ((i0 + shift[0] - t0) * n[1] + i1 + shift[1] - t1) * n[2] \
                                              + shift[2] - t2;                                      \
                            for (Py_ssize_t i2 = lo[2]; i2 < hi[2]; i2++) row[i2] += a[from + i2] * c; \
                        }                                                                           \
                }                                                                                   \
    }

/* complex numbers as (real, imaginary) pairs */
#define DEFINE_SIGNAL_COMPLEX(T, NAME)                                                              \
    static void NAME##_signal(const T *a, const Py_ssize_t *n, const T *b, const Py_ssize_t *k,    \
                              T *restrict out, const Py_ssize_t *o, const Py_ssize_t *shift,       \
                              int correlate)                                                        \
    {                                                                                               \
        memset(out, 0, (size_t)(o[0] * o[1] * o[2]) * 2 * sizeof(T));                               \
        Py_ssize_t lo[MAX_DIMS], hi[MAX_DIMS];                                                      \
        for (Py_ssize_t t0 = 0; t0 < k[0]; t0++)                                                    \
            for (Py_ssize_t t1 = 0; t1 < k[1]; t1++)                                                \
                for (Py_ssize_t t2 = 0; t2 < k[2]; t2++) {                                          \
                    Py_ssize_t c = correlate ? ((k[0] - 1 - t0) * k[1] + k[1] - 1 - t1) * k[2] + k[2] - 1 - t2 \
                                             : (t0 * k[1] + t1) * k[2] + t2;                        \
                    T br = b[2 * c], bi = correlate ? -b[2 * c + 1] : b[2 * c + 1];                 \
                    reach(t0, shift[0], n[0], o[0], &lo[0], &hi[0]);                                \
                    reach(t1, shift[1], n[1], o[1], &lo[1], &hi[1]);                                \
                    reach(t2, shift[2], n[2], o[2], &lo[2], &hi[2]);                                \
                    for (Py_ssize_t i0 = lo[0]; i0 < hi[0]; i0++)                                   \
                        for (Py_ssize_t i1 = lo[1]; i1 < hi[1]; i1++) {                             \
                            T *row = out + 2 * (i0 * o[1] + i1) * o[2];                             \
                            Py_ssize_t from = ((i0 + shift[0] - t0) * n[1] + i1 + shift[1] - t1) * n[2] \
                                              + shift[2] - t2;                                      \
                            for (Py_ssize_t i2 = lo[2]; i2 < hi[2]; i2++) {                         \
                                T ar = a[2 * (from + i2)], ai = a[2 * (from + i2) + 1];             \
                                row[2 * i2] += ar * br - ai * bi;                                   \
                                row[2 * i2 + 1] += ar * bi + ai * br;                               \
                            }                                                                       \
                        }                                                                           \
                }                                                                                   \
    }

DEFINE_SIGNAL_REAL(float, f32)
DEFINE_SIGNAL_REAL(double, f64)
DEFINE_SIGNAL_COMPLEX(float, c64)
DEFINE_SIGNAL_COMPLEX(double, c128)

/* ---- scipy.ndimage: boundary modes ---------------------------------------------------- */

enum { REFLECT, MIRROR, NEAREST, WRAP, CONSTANT, MODE_COUNT };

/* The source index of extended coordinate c on an axis of length n; -1: the constant. */
static Py_ssize_t source_index(Py_ssize_t c, Py_ssize_t n, int mode)
{
    if (c >= 0 && c < n) return c;
    Py_ssize_t span, m;
    switch (mode) {
    case NEAREST:
        return c < 0 ? 0 : n - 1;
    case WRAP:
        m = c % n;
        return m < 0 ? m + n : m;
    case REFLECT: /* the edge sample repeated: period 2n */
        span = 2 * n;
        m = c % span;
        m = m < 0 ? m + span : m;
        return m < n ? m : span - 1 - m;
    case MIRROR: /* the edge sample not repeated: period 2n - 2 */
        if (n == 1) return 0;
        span = 2 * n - 2;
        m = c % span;
        m = m < 0 ? m + span : m;
        return m < n ? m : span - m;
    default:
        return -1;
    }
}

/* Sums each output row in `sums` (double, one row long), its taps in the order of the kernel's
   values, then rounds each sum once into out. Row by row: an accumulator of the image's size,
   swept once a tap, had made a fresh process' first 256x256 pass of 17 taps 0.75 ms (its
   pages met for the first time) where later ones took 0.4. */
#define DEFINE_NDIMAGE(T, NAME)                                                                     \
    static void NAME##_ndimage(const T *x, const Py_ssize_t *n, const double *w, const Py_ssize_t *k, \
                               T *restrict out, double *restrict sums, Py_ssize_t *const *maps,    \
                               Py_ssize_t before2, double cval, int convolution)                    \
    {                                                                                               \
        for (Py_ssize_t i0 = 0; i0 < n[0]; i0++)                                                    \
            for (Py_ssize_t i1 = 0; i1 < n[1]; i1++) {                                              \
                for (Py_ssize_t i2 = 0; i2 < n[2]; i2++) sums[i2] = 0.0;                            \
                for (Py_ssize_t t0 = 0; t0 < k[0]; t0++)                                            \
                    for (Py_ssize_t t1 = 0; t1 < k[1]; t1++)                                        \
                        for (Py_ssize_t t2 = 0; t2 < k[2]; t2++) {                                  \
                            double weight = w[convolution                                           \
                                ? ((k[0] - 1 - t0) * k[1] + k[1] - 1 - t1) * k[2] + k[2] - 1 - t2   \
                                : (t0 * k[1] + t1) * k[2] + t2];                                    \
                            if (!(fabs(weight) > DBL_EPSILON)) continue; /* NaN too */              \
                            Py_ssize_t s0 = maps[0][i0 + t0], s1 = maps[1][i1 + t1];                \
                            if (s0 < 0 || s1 < 0) {                                                 \
                                for (Py_ssize_t i2 = 0; i2 < n[2]; i2++) sums[i2] += cval * weight; \
                                continue;                                                           \
                            }                                                                       \
                            const Py_ssize_t *cols = maps[2] + t2;                                  \
                            /* the outputs whose tap t2 reads inside the row: i2 + t2 - before2 in [0, n) */ \
                            Py_ssize_t inside_lo = before2 - t2 > 0 ? before2 - t2 : 0;             \
                            Py_ssize_t inside_hi = n[2] + before2 - t2 < n[2] ? n[2] + before2 - t2 : n[2]; \
                            const T *row = x + (s0 * n[1] + s1) * n[2];                             \
                            for (Py_ssize_t i2 = 0; i2 < n[2]; i2++) {                              \
                                if (i2 == inside_lo) { /* the row's own samples: no map */          \
                                    Py_ssize_t from = t2 - before2; /* row[from + i2] is inside */  \
                                    for (; i2 < inside_hi; i2++) sums[i2] += (double)row[from + i2] * weight; \
                                    if (i2 == n[2]) break;                                          \
                                }                                                                   \
                                double value = cols[i2] < 0 ? cval : (double)row[cols[i2]];         \
                                sums[i2] += value * weight;                                         \
                            }                                                                       \
                        }                                                                           \
                T *line = out + (i0 * n[1] + i1) * n[2];                                            \
                for (Py_ssize_t i2 = 0; i2 < n[2]; i2++) line[i2] = (T)sums[i2];                    \
            }                                                                                       \
    }

DEFINE_NDIMAGE(float, f32)
DEFINE_NDIMAGE(double, f64)

/* ---- Python binding ---------------------------------------------------------------- */

/* KIND_F32, KIND_F64, KIND_C64 or KIND_C128; -1 for anything else */
static int kind_of(const Py_buffer *view)
{
    return buffer_kind(view, KINDS_FLOAT | (1u << KIND_C64) | (1u << KIND_C128));
}

/* C-contiguous buffers with their shapes, of 1 to MAX_DIMS dimensions; on failure all are
   released and -1 returned. */
static int get_views(PyObject **objects, Py_buffer *views, const int *writable, int count)
{
    for (int i = 0; i < count; i++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable[i] ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objects[i], &views[i], flags) < 0) {
            while (i-- > 0) PyBuffer_Release(&views[i]);
            return -1;
        }
    }
    for (int i = 0; i < count; i++) {
        if (views[i].ndim < 1 || views[i].ndim > MAX_DIMS || views[i].ndim != views[0].ndim) {
            PyErr_SetString(PyExc_ValueError, "the arrays must have one number of dimensions, 1 to 3");
            for (int j = 0; j < count; j++) PyBuffer_Release(&views[j]);
            return -1;
        }
    }
    return 0;
}

static void release(Py_buffer *views, int count)
{
    for (int i = 0; i < count; i++) PyBuffer_Release(&views[i]);
}

static PyObject *py_signal(PyObject *self, PyObject *args)
{
    PyObject *objects[3], *shift_object;
    int correlate;
    if (!PyArg_ParseTuple(args, "OOOOp", &objects[0], &objects[1], &objects[2], &shift_object, &correlate))
        return NULL;
    Py_buffer views[3];
    const int writable[3] = {0, 0, 1};
    if (get_views(objects, views, writable, 3) < 0) return NULL;
    int kind = kind_of(&views[0]);
    if (kind < 0 || kind_of(&views[1]) != kind || kind_of(&views[2]) != kind) {
        PyErr_SetString(PyExc_TypeError,
                        "the arrays must share one dtype: float32, float64, complex64 or complex128");
        release(views, 3);
        return NULL;
    }
    Py_ssize_t n[MAX_DIMS], k[MAX_DIMS], o[MAX_DIMS], shift[MAX_DIMS] = {0, 0, 0};
    shape3(&views[0], n);
    shape3(&views[1], k);
    shape3(&views[2], o);
    int ndim = views[0].ndim;
    if (!PySequence_Check(shift_object) || PySequence_Size(shift_object) != ndim) {
        PyErr_SetString(PyExc_ValueError, "shift must give one integer per axis");
        release(views, 3);
        return NULL;
    }
    for (int d = 0; d < ndim; d++) {
        PyObject *item = PySequence_GetItem(shift_object, d);
        Py_ssize_t value = item ? PyLong_AsSsize_t(item) : -1;
        Py_XDECREF(item);
        int axis = MAX_DIMS - ndim + d;
        if (value < 0 || value + o[axis] > n[axis] + k[axis] - 1) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "the output must lie within the full convolution");
            release(views, 3);
            return NULL;
        }
        shift[axis] = value;
    }
    switch (kind) {
    case KIND_F32: f32_signal(views[0].buf, n, views[1].buf, k, views[2].buf, o, shift, correlate); break;
    case KIND_F64: f64_signal(views[0].buf, n, views[1].buf, k, views[2].buf, o, shift, correlate); break;
    case KIND_C64: c64_signal(views[0].buf, n, views[1].buf, k, views[2].buf, o, shift, correlate); break;
    default: c128_signal(views[0].buf, n, views[1].buf, k, views[2].buf, o, shift, correlate); break;
    }
    release(views, 3);
    Py_RETURN_NONE;
}

static PyObject *py_ndimage(PyObject *self, PyObject *args)
{
    PyObject *objects[3];
    int mode, convolution;
    double cval;
    if (!PyArg_ParseTuple(args, "OOOidp", &objects[0], &objects[1], &objects[2], &mode, &cval, &convolution))
        return NULL;
    if (mode < 0 || mode >= MODE_COUNT) {
        PyErr_SetString(PyExc_ValueError, "mode must be 0 reflect, 1 mirror, 2 nearest, 3 wrap or 4 constant");
        return NULL;
    }
    Py_buffer views[3];
    const int writable[3] = {0, 0, 1};
    if (get_views(objects, views, writable, 3) < 0) return NULL;
    int kind = kind_of(&views[0]);
    if (kind < 0 || kind > KIND_F64 || kind_of(&views[1]) != KIND_F64 || kind_of(&views[2]) != kind) {
        PyErr_SetString(PyExc_TypeError,
                        "the image and output must be float32 or float64 alike, the weights float64");
        release(views, 3);
        return NULL;
    }
    Py_ssize_t n[MAX_DIMS], k[MAX_DIMS], o[MAX_DIMS];
    shape3(&views[0], n);
    shape3(&views[1], k);
    shape3(&views[2], o);
    Py_ssize_t length = 0;
    for (int d = 0; d < MAX_DIMS; d++) {
        if (o[d] != n[d] || k[d] > n[d]) {
            PyErr_SetString(PyExc_ValueError,
                            "the output must have the image's shape, the weights no axis longer");
            release(views, 3);
            return NULL;
        }
        length += n[d] + k[d] - 1;
    }
    double *sums = PyMem_Malloc((n[2] > 0 ? n[2] : 1) * sizeof(double));
    Py_ssize_t *all = PyMem_Malloc(length * sizeof(Py_ssize_t)), *maps[MAX_DIMS];
    if (sums == NULL || all == NULL) {
        PyMem_Free(sums);
        PyMem_Free(all);
        release(views, 3);
        return PyErr_NoMemory();
    }
    Py_ssize_t before[MAX_DIMS];
    for (Py_ssize_t d = 0, at = 0; d < MAX_DIMS; at += n[d] + k[d] - 1, d++) {
        /* scipy's centre: k // 2 taps before the output, (k - 1) // 2 for a convolution */
        before[d] = convolution ? (k[d] - 1) / 2 : k[d] / 2;
        maps[d] = all + at;
        for (Py_ssize_t j = 0; j < n[d] + k[d] - 1; j++) maps[d][j] = source_index(j - before[d], n[d], mode);
    }
    if (kind == KIND_F32)
        f32_ndimage(views[0].buf, n, views[1].buf, k, views[2].buf, sums, maps, before[2], cval, convolution);
    else
        f64_ndimage(views[0].buf, n, views[1].buf, k, views[2].buf, sums, maps, before[2], cval, convolution);
    PyMem_Free(sums);
    PyMem_Free(all);
    release(views, 3);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"signal", py_signal, METH_VARARGS,
     "signal(a, b, out, shift, correlate): scipy.signal's direct sum, zero fill; see the source."},
    {"ndimage", py_ndimage, METH_VARARGS,
     "ndimage(x, w, out, mode, cval, convolution): scipy.ndimage's correlate/convolve; see the source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tiny_sums",
                                    "A tiny call's direct sum in one C call (see tiny_sums.c).", -1, methods};

PyMODINIT_FUNC PyInit__tiny_sums(void) { return PyModule_Create(&module); }
