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
 * sums may skip their own check for NaN and inf.
 *
 * divide(numerator, denominator, out, limit, test) -> int: out[i] = numerator[i] /
 * denominator[i] (IEEE: a zero denominator gives inf or NaN, no error), and the number of
 * outputs whose denominator is "empty" by `test`: 0 `d <= limit`, 1 `|d| <= limit`,
 * 2 `d < limit`. The caller marks those outputs only when there are any. `out` may be the
 * numerator.
 *
 * any_small(values, limit) -> bool: whether any |values[i]| < limit (NaN is not), over an array
 * as split takes: the normalised filter's test for outputs whose weight sums a transform's
 * rounding may spoil (NumPy's abs, compare and any cost 2 ms a 1024² float64 tile).
 *
 * nan_in_sum(values) -> bool or None, for a C-contiguous float32 or float64 array: whether its
 * float64 sum would be NaN (astropy's test for holes): a NaN, or infinities of both signs.
 * Stops at the first NaN, so an image with holes is answered in its first rows. None where
 * no NaN is found but the finite values are large enough for a sum to overflow (the caller
 * sums): never for float32.
 *
 * The GIL is released while they run.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>

#include "buffer_kinds.h"
#include "target_clones.h"

#define DEFINE_PLANES(T, NAME)                                                                      \
    CLONES static int NAME##_split(T *restrict v, T *restrict w, Py_ssize_t n)                    \
    {                                                                                               \
        int spoilt = 0;                                                                             \
        for (Py_ssize_t i = 0; i < n; i++) {                                                        \
            T x = v[i];                                                                             \
            int hole = x != x;                                                                      \
            T kept = hole ? (T)0 : x;                                                               \
            v[i] = kept;                                                                            \
            w[i] = hole ? (T)0 : (T)1;                                                              \
            spoilt |= (kept - kept) != (T)0; /* inf - inf is NaN */                                 \
        }                                                                                           \
        return spoilt;                                                                              \
    }                                                                                               \
                                                                                                    \
    CLONES static Py_ssize_t NAME##_divide(const T *num, const T *den, T *out, Py_ssize_t n,        \
                                           T limit, int test)                                       \
    {                                                                                               \
        Py_ssize_t empty = 0;                                                                       \
        if (test == 0) {                                                                            \
            for (Py_ssize_t i = 0; i < n; i++) {                                                    \
                T d = den[i];                                                                       \
                empty += d <= limit;                                                                \
                out[i] = num[i] / d;                                                                \
            }                                                                                       \
        } else if (test == 1) {                                                                     \
            for (Py_ssize_t i = 0; i < n; i++) {                                                    \
                T d = den[i];                                                                       \
                empty += (d < 0 ? -d : d) <= limit;                                                 \
                out[i] = num[i] / d;                                                                \
            }                                                                                       \
        } else {                                                                                    \
            for (Py_ssize_t i = 0; i < n; i++) {                                                    \
                T d = den[i];                                                                       \
                empty += d < limit;                                                                 \
                out[i] = num[i] / d;                                                                \
            }                                                                                       \
        }                                                                                           \
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

DEFINE_ANY_SMALL(float, f32)
DEFINE_ANY_SMALL(double, f64)

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

static PyObject *py_split(PyObject *self, PyObject *args)
{
    PyObject *objects[2];
    if (!PyArg_ParseTuple(args, "OO", &objects[0], &objects[1])) return NULL;
    Py_buffer views[2];
    const int writable[2] = {1, 1};
    int kind = get_alike(objects, views, writable, 2);
    if (kind < 0) return NULL;
    int spoilt = 0;
    rows_of r;
    rows_begin(&r, views, 2);
    Py_BEGIN_ALLOW_THREADS
    while (next_row(&r)) {
        spoilt |= kind == 0 ? f32_split((float *)r.at[0], (float *)r.at[1], r.length)
                            : f64_split((double *)r.at[0], (double *)r.at[1], r.length);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&views[0]);
    PyBuffer_Release(&views[1]);
    return PyBool_FromLong(!spoilt);
}

static PyObject *py_divide(PyObject *self, PyObject *args)
{
    PyObject *objects[3];
    double limit;
    int test;
    if (!PyArg_ParseTuple(args, "OOOdi", &objects[0], &objects[1], &objects[2], &limit, &test)) return NULL;
    if (test < 0 || test > 2) {
        PyErr_SetString(PyExc_ValueError, "test must be 0 (d <= limit), 1 (|d| <= limit) or 2 (d < limit)");
        return NULL;
    }
    Py_buffer views[3];
    const int writable[3] = {0, 0, 1};
    int kind = get_alike(objects, views, writable, 3);
    if (kind < 0) return NULL;
    Py_ssize_t empty = 0;
    rows_of r;
    rows_begin(&r, views, 3);
    Py_BEGIN_ALLOW_THREADS
    while (next_row(&r)) {
        empty += kind == 0 ? f32_divide((float *)r.at[0], (float *)r.at[1], (float *)r.at[2], r.length,
                                        (float)limit, test)
                           : f64_divide((double *)r.at[0], (double *)r.at[1], (double *)r.at[2], r.length,
                                        limit, test);
    }
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 3; i++) PyBuffer_Release(&views[i]);
    return PyLong_FromSsize_t(empty);
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

static PyMethodDef methods[] = {
    {"split", py_split, METH_VARARGS,
     "split(values, weights) -> all finite: holes (NaN) of values zeroed, weights 1 or 0; see the source."},
    {"divide", py_divide, METH_VARARGS,
     "divide(numerator, denominator, out, limit, test) -> outputs with an empty denominator; see the source."},
    {"any_small", py_any_small, METH_VARARGS,
     "any_small(values, limit) -> whether any |value| is below limit; see the source."},
    {"nan_in_sum", py_nan_in_sum, METH_O,
     "nan_in_sum(values) -> whether the array's float64 sum would be NaN (None: unknown); see the source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_float_passes",
                                    "One-pass loops over float arrays (see float_passes.c).", -1, methods};

PyMODINIT_FUNC PyInit__float_passes(void) { return PyModule_Create(&module); }
