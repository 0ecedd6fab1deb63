/* Running sums: the compiled loop of the 'direct.box' executor (box kernels, uniform filters).
 *
 * box(x, out, map, size, cval, scale) writes, for every p, i, q of the 3-D `out`,
 *
 *     out[p, i, q] = scale * sum over t < size of ext[p, i + t, q]
 *
 * where ext[p, r, q] is x[p, map[r], q], or `cval` where map[r] is -1 (the boundary modes of
 * scipy.ndimage and the zero extension of a 'full' or 'same' window, as in direct_loops.c).
 * x and out share one dtype, float32 or float64, and may have any strides. The sums run in
 * double whatever the dtype: each output adds one sample and drops one, so the cost does not
 * depend on `size`, and double accumulators keep the drift of 10^4 updates near 1e-12 of the
 * values (scipy.ndimage's uniform_filter1d also sums in double).
 *
 * Two layouts: where the summed axis is not the innermost one (q has several contiguous
 * samples), one row of double accumulators runs across q, and every update is a vector add
 * over the row; where it is (q of length 1), the sums run along each line, eight lines at once
 * so that their additions overlap.
 *
 * NaN and inf never leave a running sum: `box` returns how many lines met one (their outputs
 * are then wrong beyond the value's reach; the caller recomputes them). The GIL is released
 * while summing.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buffer_kinds.h"
#include "target_clones.h"

typedef struct {
    const char *x;
    Py_ssize_t xs[3]; /* byte strides of x */
    char *out;
    Py_ssize_t os[3]; /* byte strides of out */
    Py_ssize_t planes, length, inner; /* out's shape */
    const int64_t *map;
    Py_ssize_t size;
    double cval, scale;
} job;

#define DEFINE_BOX(T, NAME)                                                                         \
    /* ext[p, r, q] as a double */                                                                 \
    static inline double NAME##_at(const job *J, const char *plane, Py_ssize_t r, Py_ssize_t q)    \
    {                                                                                               \
        int64_t s = J->map[r];                                                                      \
        return s < 0 ? J->cval : (double)*(const T *)(plane + s * J->xs[1] + q * J->xs[2]);         \
    }                                                                                               \
                                                                                                    \
    /* the summed axis is not the innermost: a row of accumulators across q */                      \
    static Py_ssize_t NAME##_across(const job *J, double *acc)                                      \
    {                                                                                               \
        Py_ssize_t Q = J->inner, spoilt = 0;                                                        \
        int contiguous = J->xs[2] == (Py_ssize_t)sizeof(T);                                         \
        for (Py_ssize_t p = 0; p < J->planes; p++) {                                                \
            const char *plane = J->x + p * J->xs[0];                                                \
            for (Py_ssize_t q = 0; q < Q; q++) acc[q] = 0.0;                                        \
            for (Py_ssize_t t = 0; t < J->size; t++) {                                              \
                int64_t s = J->map[t];                                                              \
                if (s < 0) {                                                                        \
                    for (Py_ssize_t q = 0; q < Q; q++) acc[q] += J->cval;                           \
                } else if (contiguous) {                                                            \
                    const T *row = (const T *)(plane + s * J->xs[1]);                               \
                    for (Py_ssize_t q = 0; q < Q; q++) acc[q] += (double)row[q];                    \
                } else {                                                                            \
                    for (Py_ssize_t q = 0; q < Q; q++) acc[q] += NAME##_at(J, plane, t, q);         \
                }                                                                                   \
            }                                                                                       \
            for (Py_ssize_t i = 0; i < J->length; i++) {                                            \
                if (i > 0) {                                                                        \
                    int64_t add = J->map[i + J->size - 1], drop = J->map[i - 1];                    \
                    if (contiguous && add >= 0 && drop >= 0) {                                      \
                        const T *a = (const T *)(plane + add * J->xs[1]);                           \
                        const T *d = (const T *)(plane + drop * J->xs[1]);                          \
                        for (Py_ssize_t q = 0; q < Q; q++) acc[q] += (double)a[q] - (double)d[q];   \
                    } else {                                                                        \
                        for (Py_ssize_t q = 0; q < Q; q++)                                          \
                            acc[q] += NAME##_at(J, plane, i + J->size - 1, q) -                     \
                                      NAME##_at(J, plane, i - 1, q);                                \
                    }                                                                               \
                }                                                                                   \
                char *o = J->out + p * J->os[0] + i * J->os[1];                                     \
                if (J->os[2] == (Py_ssize_t)sizeof(T)) {                                            \
                    T *row = (T *)o;                                                                \
                    for (Py_ssize_t q = 0; q < Q; q++) row[q] = (T)(acc[q] * J->scale);             \
                } else {                                                                            \
                    for (Py_ssize_t q = 0; q < Q; q++) *(T *)(o + q * J->os[2]) = (T)(acc[q] * J->scale); \
                }                                                                                   \
            }                                                                                       \
            for (Py_ssize_t q = 0; q < Q; q++) spoilt += !isfinite(acc[q]);                         \
        }                                                                                           \
        return spoilt;                                                                              \
    }                                                                                               \
                                                                                                    \
    /* the summed axis is the innermost: LINES lines at once, each its own running sum (their  \
       additions overlap), the map read once for all of them */                                    \
    static Py_ssize_t NAME##_along(const job *J)                                                    \
    {                                                                                               \
        enum { LINES = 8 };                                                                         \
        Py_ssize_t spoilt = 0;                                                                      \
        Py_ssize_t n = J->length, size = J->size, xs = J->xs[1], os = J->os[1];                     \
        for (Py_ssize_t p0 = 0; p0 < J->planes; p0 += LINES) {                                      \
            int lines = J->planes - p0 < LINES ? (int)(J->planes - p0) : LINES;                     \
            const char *src[LINES];                                                                 \
            char *dst[LINES];                                                                       \
            double acc[LINES];                                                                      \
            for (int l = 0; l < LINES; l++) { /* short groups repeat their last line */             \
                Py_ssize_t p = p0 + (l < lines ? l : lines - 1);                                    \
                src[l] = J->x + p * J->xs[0];                                                       \
                dst[l] = J->out + p * J->os[0];                                                     \
                acc[l] = 0.0;                                                                       \
                for (Py_ssize_t t = 0; t < size; t++) acc[l] += NAME##_at(J, src[l], t, 0);         \
            }                                                                                       \
            for (int l = 0; l < LINES; l++) *(T *)dst[l] = (T)(acc[l] * J->scale);                  \
            for (Py_ssize_t i = 1; i < n; i++) {                                                    \
                int64_t add = J->map[i + size - 1], drop = J->map[i - 1];                           \
                double a[LINES], d[LINES];                                                          \
                if (add >= 0 && drop >= 0) {                                                        \
                    for (int l = 0; l < LINES; l++) {                                               \
                        a[l] = (double)*(const T *)(src[l] + add * xs);                             \
                        d[l] = (double)*(const T *)(src[l] + drop * xs);                            \
                    }                                                                               \
                } else {                                                                            \
                    for (int l = 0; l < LINES; l++) {                                               \
                        a[l] = add < 0 ? J->cval : (double)*(const T *)(src[l] + add * xs);         \
                        d[l] = drop < 0 ? J->cval : (double)*(const T *)(src[l] + drop * xs);       \
                    }                                                                               \
                }                                                                                   \
                for (int l = 0; l < LINES; l++) {                                                   \
                    acc[l] += a[l] - d[l];                                                          \
                    *(T *)(dst[l] + i * os) = (T)(acc[l] * J->scale);                               \
                }                                                                                   \
            }                                                                                       \
            for (int l = 0; l < lines; l++) spoilt += !isfinite(acc[l]);                            \
        }                                                                                           \
        return spoilt;                                                                              \
    }                                                                                               \
                                                                                                    \
    /* the number of lines whose sum met a non-finite value (NaN or inf stay in a running sum: \
       the caller recomputes those by direct sums); -1 if out of memory */                        \
    CLONES static Py_ssize_t NAME(const job *J)                                                     \
    {                                                                                               \
        if (J->inner == 1) return NAME##_along(J);                                                  \
        double *acc = malloc((size_t)J->inner * sizeof(double));                                    \
        if (acc == NULL) return -1;                                                                 \
        Py_ssize_t spoilt = NAME##_across(J, acc);                                                  \
        free(acc);                                                                                  \
        return spoilt;                                                                              \
    }

DEFINE_BOX(float, box_f32)
DEFINE_BOX(double, box_f64)

/* ---- Python binding ---------------------------------------------------------------- */

/* 0 for float32, 1 for float64, -1 for anything else */
static int kind_of(const Py_buffer *view) { return buffer_kind(view, KINDS_FLOAT); }

static PyObject *py_box(PyObject *self, PyObject *args)
{
    PyObject *xo, *oo, *mo;
    Py_ssize_t size;
    double cval, scale;
    if (!PyArg_ParseTuple(args, "OOOndd", &xo, &oo, &mo, &size, &cval, &scale)) return NULL;
    Py_buffer x, out, map;
    if (PyObject_GetBuffer(xo, &x, PyBUF_STRIDED_RO | PyBUF_FORMAT) < 0) return NULL;
    if (PyObject_GetBuffer(oo, &out, PyBUF_STRIDED | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    if (PyObject_GetBuffer(mo, &map, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&x);
        PyBuffer_Release(&out);
        return NULL;
    }
    PyObject *result = NULL;
    int kind = kind_of(&x);
    const char *mf = map.format ? map.format : "B";
    if (*mf == '=' || *mf == '<' || *mf == '@') mf++;
    if (kind < 0 || kind != kind_of(&out)) {
        PyErr_SetString(PyExc_TypeError, "x and out must share one dtype: float32 or float64");
        goto done;
    }
    if (x.ndim != 3 || out.ndim != 3 || map.ndim != 1 || map.itemsize != 8 || (mf[0] != 'l' && mf[0] != 'q')) {
        PyErr_SetString(PyExc_ValueError, "x and out must be 3-D, the map 1-D int64");
        goto done;
    }
    int fits = size >= 1 && x.shape[0] == out.shape[0] && x.shape[2] == out.shape[2] &&
               map.shape[0] == out.shape[1] + size - 1;
    const int64_t *m = map.buf;
    for (Py_ssize_t r = 0; fits && r < map.shape[0]; r++)
        if (m[r] < -1 || m[r] >= x.shape[1]) fits = 0;
    if (!fits) {
        PyErr_SetString(PyExc_ValueError, "the map, size and output do not fit together");
        goto done;
    }
    job J = {x.buf, {x.strides[0], x.strides[1], x.strides[2]}, out.buf,
             {out.strides[0], out.strides[1], out.strides[2]}, out.shape[0], out.shape[1], out.shape[2],
             m, size, cval, scale};
    Py_ssize_t status = 0;
    if (J.planes > 0 && J.length > 0 && J.inner > 0) {
        Py_BEGIN_ALLOW_THREADS
        status = kind == 0 ? box_f32(&J) : box_f64(&J);
        Py_END_ALLOW_THREADS
    }
    if (status < 0) {
        PyErr_NoMemory();
        goto done;
    }
    result = PyLong_FromSsize_t(status);
done:
    PyBuffer_Release(&x);
    PyBuffer_Release(&out);
    PyBuffer_Release(&map);
    return result;
}

static PyMethodDef methods[] = {
    {"box", py_box, METH_VARARGS,
     "box(x, out, map, size, cval, scale) -> lines that met NaN or inf: running sums along axis 1 of "
     "3-D operands; see the source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_running_sums",
                                    "Compiled running sums of box kernels (see running_sums.c).", -1, methods};

PyMODINIT_FUNC PyInit__running_sums(void) { return PyModule_Create(&module); }
