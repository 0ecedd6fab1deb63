/* The element types of the buffers fftconv's compiled loops read, shared by every C file that
 * reads a NumPy array through the buffer protocol (each module accepts its own subset).
 */
#ifndef FFTCONV_BUFFER_KINDS_H
#define FFTCONV_BUFFER_KINDS_H

#include <Python.h>

enum { KIND_F32, KIND_F64, KIND_I64, KIND_C64, KIND_C128 };

#define KINDS_FLOAT ((1u << KIND_F32) | (1u << KIND_F64))

/* The KIND_* of a buffer of native byte order (NumPy reports '<' on little-endian machines)
   when it is one of ``accepted`` (a mask of 1 << KIND_*), else -1. */
static int buffer_kind(const Py_buffer *view, unsigned accepted)
{
    const char *f = view->format ? view->format : "B";
    if (*f == '=' || *f == '<' || *f == '@') f++;
    int kind = -1;
    if (f[0] == 'Z' && f[1] != '\0' && f[2] == '\0') {
        if (f[1] == 'f' && view->itemsize == 8) kind = KIND_C64;
        if (f[1] == 'd' && view->itemsize == 16) kind = KIND_C128;
    } else if (f[0] != '\0' && f[1] == '\0') {
        if (f[0] == 'f' && view->itemsize == 4) kind = KIND_F32;
        if (f[0] == 'd' && view->itemsize == 8) kind = KIND_F64;
        if ((f[0] == 'l' || f[0] == 'q') && view->itemsize == 8) kind = KIND_I64;
    }
    return kind >= 0 && (accepted >> kind) & 1u ? kind : -1;
}

#endif
