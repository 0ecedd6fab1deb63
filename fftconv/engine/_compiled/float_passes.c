/* One-pass loops over float arrays for the engine, each one memory pass where NumPy takes two
 * or three: the normalised filter's passes around its sums and astropy's test for holes
 * (`fftconv.engine.holes`).
 *
 * split(values, weights) -> bool, in place over two arrays of one dtype (float32 or float64)
 * and size, each C-contiguous: weights[i] = 0 where values[i] is NaN (a hole), else 1; the
 * holes of values become 0. Returns whether values are then all finite (no inf remained): the
 * sums may skip their own check for NaN and inf.
 *
 * divide(numerator, denominator, out, limit, test) -> int: out[i] = numerator[i] /
 * denominator[i] (IEEE: a zero denominator gives inf or NaN, no error), and the number of
 * outputs whose denominator is "empty" by `test`: 0 `d <= limit`, 1 `|d| <= limit`,
 * 2 `d < limit`. The caller marks those outputs only when there are any. `out` may be the
 * numerator.
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

/* Buffers of one float dtype and one length; on failure all are released and -1 returned. */
static int get_alike(PyObject **objects, Py_buffer *views, const int *writable, int count)
{
    for (int i = 0; i < count; i++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable[i] ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objects[i], &views[i], flags) < 0) {
            while (i-- > 0) PyBuffer_Release(&views[i]);
            return -1;
        }
    }
    int kind = kind_of(&views[0]);
    for (int i = 0; i < count; i++) {
        if (kind < 0 || kind_of(&views[i]) != kind || views[i].len != views[0].len) {
            PyErr_SetString(PyExc_TypeError, "the arrays must share one dtype (float32 or float64) and size");
            for (int j = 0; j < count; j++) PyBuffer_Release(&views[j]);
            return -1;
        }
    }
    return kind;
}

static PyObject *py_split(PyObject *self, PyObject *args)
{
    PyObject *objects[2];
    if (!PyArg_ParseTuple(args, "OO", &objects[0], &objects[1])) return NULL;
    Py_buffer views[2];
    const int writable[2] = {1, 1};
    int kind = get_alike(objects, views, writable, 2);
    if (kind < 0) return NULL;
    Py_ssize_t n = views[0].len / views[0].itemsize;
    int spoilt;
    Py_BEGIN_ALLOW_THREADS
    spoilt = kind == 0 ? f32_split(views[0].buf, views[1].buf, n) : f64_split(views[0].buf, views[1].buf, n);
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
    Py_ssize_t n = views[0].len / views[0].itemsize, empty;
    Py_BEGIN_ALLOW_THREADS
    empty = kind == 0 ? f32_divide(views[0].buf, views[1].buf, views[2].buf, n, (float)limit, test)
                      : f64_divide(views[0].buf, views[1].buf, views[2].buf, n, limit, test);
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 3; i++) PyBuffer_Release(&views[i]);
    return PyLong_FromSsize_t(empty);
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
    {"nan_in_sum", py_nan_in_sum, METH_O,
     "nan_in_sum(values) -> whether the array's float64 sum would be NaN (None: unknown); see the source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_float_passes",
                                    "One-pass loops over float arrays (see float_passes.c).", -1, methods};

PyMODINIT_FUNC PyInit__float_passes(void) { return PyModule_Create(&module); }
