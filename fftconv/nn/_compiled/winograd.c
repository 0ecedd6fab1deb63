/* Winograd F(2x2, 3x3) transforms for fftconv.nn.winograd: the input patches' B^T d B and the
 * products' A^T m A, one pass each over a block of tile rows, with the GIL released.
 *
 * input_transform(x, v, n, c, h, w, r0, r1, tiles_w):
 *     x: (n, c, h, w) C-contiguous float32/float64, v: (16, c, n, r1 - r0, tiles_w) of the same
 *     dtype; v[4a + b, ch, i, r, t] = (B^T d B)[a, b] for the 4x4 patch d at rows 2 (r0 + r) ..,
 *     columns 2 t ...
 * output_transform(m, y, n, o, h2, w2, r0, r1, tiles_w):
 *     m: (16, o, n, r1 - r0, tiles_w), y: (n, o, h2, w2) with h2 = 2 tiles_h, w2 = 2 tiles_w;
 *     writes the 2x2 outputs A^T m A of every tile of rows r0 .. r1 - 1.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "target_clones.h"

/* Each pass is a plain loop over contiguous rows (B^T and A^T combine whole rows), then one
 * over the tiles of a row with stride-2 loads or stores (B and A): both vectorise. The row
 * buffers (4 or 8 rows of at most a row's length) live in the L1 cache. */
#define INPUT_TRANSFORM(NAME, T)                                                                 \
    CLONES static void NAME(const T *restrict x, T *restrict v, Py_ssize_t n, Py_ssize_t c,      \
                            Py_ssize_t h, Py_ssize_t w, Py_ssize_t r0, Py_ssize_t r1,           \
                            Py_ssize_t tw, T *restrict q) {                                      \
        const Py_ssize_t rows = r1 - r0, plane = (Py_ssize_t)c * n * rows * tw;                  \
        const Py_ssize_t width = 2 * tw + 2;                                                     \
        for (Py_ssize_t i = 0; i < n; i++)                                                       \
            for (Py_ssize_t ch = 0; ch < c; ch++)                                                \
                for (Py_ssize_t r = 0; r < rows; r++) {                                          \
                    const T *p0 = x + ((i * c + ch) * h + 2 * (r0 + r)) * w;                     \
                    const T *p1 = p0 + w, *p2 = p1 + w, *p3 = p2 + w;                            \
                    T *q0 = q, *q1 = q + width, *q2 = q + 2 * width, *q3 = q + 3 * width;        \
                    for (Py_ssize_t k = 0; k < width; k++) { /* B^T along the rows */            \
                        q0[k] = p0[k] - p2[k];                                                   \
                        q1[k] = p1[k] + p2[k];                                                   \
                        q2[k] = p2[k] - p1[k];                                                   \
                        q3[k] = p1[k] - p3[k];                                                   \
                    }                                                                            \
                    T *out = v + ((ch * n + i) * rows + r) * tw;                                 \
                    for (int a = 0; a < 4; a++) { /* B along the columns */                      \
                        const T *qa = q + a * width;                                             \
                        T *o0 = out + (4 * a) * plane, *o1 = o0 + plane, *o2 = o1 + plane;       \
                        T *o3 = o2 + plane;                                                      \
                        for (Py_ssize_t t = 0; t < tw; t++) {                                    \
                            const T e0 = qa[2 * t], e1 = qa[2 * t + 1], e2 = qa[2 * t + 2];      \
                            const T e3 = qa[2 * t + 3];                                          \
                            o0[t] = e0 - e2;                                                     \
                            o1[t] = e1 + e2;                                                     \
                            o2[t] = e2 - e1;                                                     \
                            o3[t] = e1 - e3;                                                     \
                        }                                                                        \
                    }                                                                            \
                }                                                                                \
    }

#define OUTPUT_TRANSFORM(NAME, T)                                                                \
    CLONES static void NAME(const T *restrict m, T *restrict y, Py_ssize_t n, Py_ssize_t o,      \
                            Py_ssize_t h2, Py_ssize_t w2, Py_ssize_t r0, Py_ssize_t r1,         \
                            Py_ssize_t tw, T *restrict s) {                                      \
        const Py_ssize_t rows = r1 - r0, plane = (Py_ssize_t)o * n * rows * tw;                  \
        for (Py_ssize_t oc = 0; oc < o; oc++)                                                    \
            for (Py_ssize_t i = 0; i < n; i++)                                                   \
                for (Py_ssize_t r = 0; r < rows; r++) {                                          \
                    const T *in = m + ((oc * n + i) * rows + r) * tw;                            \
                    for (int b = 0; b < 4; b++) { /* A^T along the rows */                       \
                        const T *m0 = in + b * plane, *m1 = m0 + 4 * plane;                      \
                        const T *m2 = m1 + 4 * plane, *m3 = m2 + 4 * plane;                      \
                        T *s0 = s + b * tw, *s1 = s + (4 + b) * tw;                              \
                        for (Py_ssize_t t = 0; t < tw; t++) {                                    \
                            s0[t] = m0[t] + m1[t] + m2[t];                                       \
                            s1[t] = m1[t] - m2[t] - m3[t];                                       \
                        }                                                                        \
                    }                                                                            \
                    T *top = y + ((i * o + oc) * h2 + 2 * (r0 + r)) * w2;                        \
                    for (int p = 0; p < 2; p++) { /* A along the columns */                      \
                        const T *a0 = s + 4 * p * tw, *a1 = a0 + tw, *a2 = a1 + tw;              \
                        const T *a3 = a2 + tw;                                                   \
                        T *row = top + p * w2;                                                   \
                        for (Py_ssize_t t = 0; t < tw; t++) {                                    \
                            row[2 * t] = a0[t] + a1[t] + a2[t];                                  \
                            row[2 * t + 1] = a1[t] - a2[t] - a3[t];                              \
                        }                                                                        \
                    }                                                                            \
                }                                                                                \
    }

INPUT_TRANSFORM(input_f32, float)
INPUT_TRANSFORM(input_f64, double)
OUTPUT_TRANSFORM(output_f32, float)
OUTPUT_TRANSFORM(output_f64, double)

/* The two buffers, C-contiguous, of one float dtype, holding at least the elements named. */
static int get_buffers(PyObject *a, PyObject *b, Py_buffer *ba, Py_buffer *bb, Py_ssize_t need_a,
                       Py_ssize_t need_b) {
    if (PyObject_GetBuffer(a, ba, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (PyObject_GetBuffer(b, bb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(ba);
        return -1;
    }
    if (ba->itemsize != bb->itemsize || (ba->itemsize != 4 && ba->itemsize != 8) ||
        ba->format[0] != bb->format[0] || (ba->format[0] != 'f' && ba->format[0] != 'd') ||
        ba->len < need_a * ba->itemsize || bb->len < need_b * bb->itemsize) {
        PyErr_SetString(PyExc_ValueError, "winograd transforms need two contiguous float32 or float64 "
                                          "arrays of one dtype and of the sizes given");
        PyBuffer_Release(ba);
        PyBuffer_Release(bb);
        return -1;
    }
    return 0;
}

static PyObject *input_transform(PyObject *self, PyObject *args) {
    PyObject *x, *v;
    Py_ssize_t n, c, h, w, r0, r1, tw;
    Py_buffer bx, bv;
    if (!PyArg_ParseTuple(args, "OOnnnnnnn", &x, &v, &n, &c, &h, &w, &r0, &r1, &tw)) return NULL;
    if (n < 0 || c < 0 || r0 < 0 || r1 < r0 || tw < 0 || 2 * r1 + 2 > h || 2 * tw + 2 > w) {
        PyErr_SetString(PyExc_ValueError, "input_transform: tiles outside the input");
        return NULL;
    }
    if (get_buffers(x, v, &bx, &bv, n * c * h * w, 16 * c * n * (r1 - r0) * tw) < 0) return NULL;
    void *rows = PyMem_RawMalloc((size_t)(4 * (2 * tw + 2)) * (size_t)bx.itemsize);
    if (rows == NULL) {
        PyBuffer_Release(&bx);
        PyBuffer_Release(&bv);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    if (bx.itemsize == 4)
        input_f32((const float *)bx.buf, (float *)bv.buf, n, c, h, w, r0, r1, tw, (float *)rows);
    else
        input_f64((const double *)bx.buf, (double *)bv.buf, n, c, h, w, r0, r1, tw, (double *)rows);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(rows);
    PyBuffer_Release(&bx);
    PyBuffer_Release(&bv);
    Py_RETURN_NONE;
}

static PyObject *output_transform(PyObject *self, PyObject *args) {
    PyObject *m, *y;
    Py_ssize_t n, o, h2, w2, r0, r1, tw;
    Py_buffer bm, by;
    if (!PyArg_ParseTuple(args, "OOnnnnnnn", &m, &y, &n, &o, &h2, &w2, &r0, &r1, &tw)) return NULL;
    if (n < 0 || o < 0 || r0 < 0 || r1 < r0 || tw < 0 || 2 * r1 > h2 || 2 * tw > w2) {
        PyErr_SetString(PyExc_ValueError, "output_transform: tiles outside the output");
        return NULL;
    }
    if (get_buffers(m, y, &bm, &by, 16 * o * n * (r1 - r0) * tw, n * o * h2 * w2) < 0) return NULL;
    void *rows = PyMem_RawMalloc((size_t)(8 * (tw > 0 ? tw : 1)) * (size_t)bm.itemsize);
    if (rows == NULL) {
        PyBuffer_Release(&bm);
        PyBuffer_Release(&by);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    if (bm.itemsize == 4)
        output_f32((const float *)bm.buf, (float *)by.buf, n, o, h2, w2, r0, r1, tw, (float *)rows);
    else
        output_f64((const double *)bm.buf, (double *)by.buf, n, o, h2, w2, r0, r1, tw, (double *)rows);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(rows);
    PyBuffer_Release(&bm);
    PyBuffer_Release(&by);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"input_transform", input_transform, METH_VARARGS, "B^T d B of every 4x4 patch of a block of tile rows."},
    {"output_transform", output_transform, METH_VARARGS, "A^T m A of every tile of a block, into the output."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_winograd", "Winograd F(2x2, 3x3) transforms.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__winograd(void) { return PyModule_Create(&module); }
