/* Direct sums of small kernels: the compiled loop of the 'direct.compiled' executor.
 *
 * correlate(x, k, out, plane_map, row_map, col_map, mid, cval, int_cval, accumulate) writes,
 * for every output plane p, row i and column j of the 3-D `out`,
 *
 *     out[p, i, j] (+)= sum over d < kd, a < kh, b < kw of  k[d, a, b] * ext[p + d, i + a, j + b]
 *
 * where the extended input `ext` is read from the 3-D `x` through index maps: ext[q, r, c] is
 * x[plane_map[q], row_map[r], col_map[c]], or `cval` where any map holds -1. That one form serves zero
 * extension (the direct sum of a 'full' or 'same' window) and every boundary mode of
 * scipy.ndimage (reflect, mirror, wrap, nearest, constant), with no padded copy of the image.
 * `mid = (d0, s0, n)` names the run col_map[d0 + t] = s0 + t (t < n) that is copied with
 * memcpy; the few halo columns around it are gathered through col_map, whose entries in the
 * run are never read (nor checked: the caller may leave them unwritten).
 * x, k and out share one dtype: float32, float64 or int64 (integers summed exactly, modulo
 * 2**64 as NumPy's). `k` is the correlation kernel (the caller flips a convolution's). x and
 * out may come 1-D or 2-D, read as 3-D with leading axes of length 1 (no reshape per call).
 *
 * How it is fast: a chunk of outputs whose reads all fall in the middle run reads the source
 * rows themselves; the few columns the edge chunks read are built once per row into a ring buffer
 * (rows of a zero cval are skipped, never built). Building whole rows cost a pass over the
 * image: reading the interior in place made 3x3 float32 up to 1.2x faster from 517² to 2500²
 * (AMD EPYC, AVX-512, two builds side by side; 256² and 333² within the noise). Outputs are
 * computed in blocks of BLOCK_ROWS rows by 256 bytes of columns, held in vector registers
 * while every tap is added, so each loaded input vector feeds up to BLOCK_ROWS output rows
 * (measured on AMD EPYC with AVX-512, pre-padded input: blocks of 4 rows by 256 bytes ran
 * 1.4-3.9x OpenCV's filter2D loop for 3x3 to 15x15 float32 kernels; 2 rows or 128 bytes,
 * or accumulators gcc kept on the stack, 0.5-3x).
 * 3x3 and 5x5 kernels get blocks compiled for their size, the taps unrolled: 9 % faster for
 * 3x3 float32 and up to 1.47x for 5x5 (333² image, AMD EPYC); 7x7 gained nothing. A row's
 * last chunk sums only the vectors that cover its columns (333 float32 columns: 5 chunks and
 * one vector, not 6 chunks): float32 3x3 to 7x7 at 333² and 517² 3-8 % faster, widths that are
 * whole chunks unchanged (within 1 %; AMD EPYC, two builds timed side by side in one process).
 * gcc vectorises the fixed-width inner loops; on x86-64 Linux with gcc they are compiled for
 * AVX-512, AVX2 and the baseline, each with its own vector width, chunk and loop order (see
 * FOR_TARGETS), and the first call picks the CPU's, so a build runs on any x86-64 machine it
 * is copied to. On AVX2 (16 registers) a tap's loads go straight into the multiply-adds of
 * each output row, rows of a zero cval read from a zero row rather than branched over: 11x11
 * float32 at 512x512 1.73 ms where sharing each load across rows (as on AVX-512, whose 16
 * accumulators spill here) took 1.78 ms (AMD EPYC Zen 3; 2 vectors a chunk 2.3 ms, 3 vectors
 * 2.0 ms, blocks of 2 rows sharing loads 2.5 ms, of 3 rows 1.9 ms). Kernels of constant size
 * (3x3, 5x5) share each load across rows two vectors at a time, in phases with no branch on
 * the row (SHARED_LOADS 2): 3x3 at 256x256 66 against 71 us, 5x5 at 333x517 208 against 316
 * us. On targets of 16 vector registers (AVX2, the baseline) float kernels of 3 to 15 rows and
 * up to 15 columns go by strips instead: four output rows along the whole row, each loaded vector
 * feeding every row it reaches, the taps broadcast once a plane. 3x3, 5x5 and 7x7 are compiled
 * for their size, a vector wide (the taps of a 3x3 kernel stay in registers); other sizes two
 * vectors wide, so that each tap loaded serves two multiply-adds. The loop alone, float32 at
 * 256x256 (AMD EPYC Zen 3): 3x3 35 -> 25 us (OpenCV's filter2D 38), 5x5 68 -> 61 (81), 7x7 189
 * -> 129 (142), 9x9 286 -> 195 (220), 11x11 427 -> 273 (324), 15x15 773 -> 481; float64
 * 1.3-1.6x faster. The chunks they replace spilled their sums between phases, and loaded the
 * taps, which the compiler could not keep beside stores through `out`, per multiply-add. Sizes
 * compiled for themselves beyond 7x7 gained under 7 % for twice the build time; two vectors
 * wide lost 10-30 % at 5x5. The separable executor's passes (one-column kernels of up to 225
 * rows, one-row kernels of up to 225 columns) go by strips too, two vectors wide, a one-row
 * kernel's output rows each reading its own row: they had gone to the blocks, whose 16 sums
 * spilled to the stack on AVX2 (1024² float64 passes, AMD EPYC Zen 3: 25 x 1 3.8 -> 2.4 ms,
 * 161 x 1 25.4 -> 16.1, 1 x 25 3.0 -> 2.0, 1 x 161 17.2 -> 11.3; float32 alike). The GIL is
 * released while summing, so calls on disjoint output rows run in parallel threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buffer_kinds.h"

/* The loops must be inlined into each target clone: a function they call that is not inlined
 * is compiled for the baseline only (SSE2), which ran 10x slower. */
#if defined(__GNUC__)
#define INLINE inline __attribute__((always_inline))
#else
#define INLINE inline
#endif

#define BLOCK_ROWS 4
#define STRIP_TAPS 15 /* float kernels of 3 to 15 rows and up to 15 columns go by strips (AVX2, baseline) */
#define STRIP_LINE_TAPS (STRIP_TAPS * STRIP_TAPS) /* ... and one-row or one-column kernels of up to this many taps */
#define MAX_TAPS 1024   /* longest kernel axis along rows: a block keeps BLOCK_ROWS + taps - 1 extended rows */

typedef struct {
    const char *x;                 /* source planes and rows this many bytes apart ... */
    Py_ssize_t x_plane, x_row;     /* ... columns contiguous */
    const int64_t *plane_map, *row_map, *col_map;
    Py_ssize_t mid_d0, mid_s0, mid_n;
    int kd, kh, kw;
    char *out;
    Py_ssize_t out_plane, out_row, depth, height, width;
    int accumulate;
} job;

/* Each CPU target gets its own vector width, chunk and loop order: VBYTES bytes a vector (one
 * register), NV vectors a chunk, and SHARED_LOADS how a block's sums read their input (1: each
 * loaded vector feeds every output row it reaches, the accumulators in 32 AVX-512 registers; 0:
 * per tap, each row's load straight into its multiply-add; 2: per tap, but kernels of constant
 * size in phases two vectors at a time). One 64-byte vector type for every target
 * (target_clones, as before) spilled to the stack on AVX2: 0.7 ns per float32 multiply-add,
 * 30x OpenCV's time for 3x3 at 256x256 (AMD EPYC Zen 3, AVX2).
 * The sums keep BLOCK_ROWS x NV accumulators in vector registers (explicit GCC
 * vector types: with plain arrays gcc kept them on the stack and ran 1.4x slower). */
#define DEFINE_CORRELATE(T, NAME, VBYTES, NV, TARGET, SHARED_LOADS)                                          \
    typedef T NAME##_vec __attribute__((vector_size(VBYTES)));                                      \
    enum { NAME##_LANES = VBYTES / sizeof(T), NAME##_NV = NV, NAME##_CHUNK = NV * NAME##_LANES };   \
                                                                                                    \
    static INLINE NAME##_vec NAME##_load(const T *p)                                                \
    {                                                                                               \
        NAME##_vec v;                                                                               \
        memcpy(&v, p, sizeof v);                                                                    \
        return v;                                                                                   \
    }                                                                                               \
                                                                                                    \
    /* acc's first m columns into dst (added to it when accumulating) */                            \
    static INLINE void NAME##_store(T *dst, const NAME##_vec *acc, Py_ssize_t m, int accumulate)    \
    {                                                                                               \
        T tmp[NAME##_CHUNK];                                                                        \
        memcpy(tmp, acc, sizeof tmp);                                                               \
        if (accumulate) {                                                                           \
            for (Py_ssize_t t = 0; t < m; t++) dst[t] += tmp[t];                                    \
        } else if (m == NAME##_CHUNK) {                                                             \
            memcpy(dst, tmp, sizeof tmp); /* fixed size: vector stores */                           \
        } else {                                                                                    \
            memcpy(dst, tmp, (size_t)m * sizeof(T));                                                \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    /* One vector's first `left` columns (all of them from LANES on) into dst, or added to it. */   \
    static INLINE void NAME##_put(T *dst, NAME##_vec s, Py_ssize_t left, int accumulate)           \
    {                                                                                               \
        if (left >= NAME##_LANES) {                                                                 \
            if (accumulate) s += NAME##_load(dst);                                                  \
            memcpy(dst, &s, sizeof s);                                                              \
            return;                                                                                 \
        }                                                                                           \
        T tmp[NAME##_LANES];                                                                        \
        memcpy(tmp, &s, sizeof s);                                                                  \
        for (Py_ssize_t t = 0; t < left; t++) dst[t] = accumulate ? dst[t] + tmp[t] : tmp[t];       \
    }                                                                                               \
                                                                                                    \
    /* BLOCK_ROWS output rows, columns [j0, j0 + CHUNK); in[r]: extended row r of the block. Only   \
       the first nv vectors are summed (a constant where inlined: a row's last chunk needs only   \
       those that cover its columns, one of four for 333 float32 columns). */                      \
    static INLINE void NAME##_block(const T *const *in, Py_ssize_t jin, const T *k, int kh, int kw, \
                                    T *const *out, Py_ssize_t j0, Py_ssize_t width, int accumulate, \
                                    int nv)                                                         \
    {                                                                                               \
        NAME##_vec acc[BLOCK_ROWS][NAME##_NV];                                                  \
        _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++)                                \
            _Pragma("GCC unroll 8") for (int v = 0; v < NAME##_NV; v++)                         \
                acc[o][v] = (NAME##_vec){0};                                                        \
        if (SHARED_LOADS == 2 && NAME##_NV % 2 == 0 && __builtin_constant_p(kh)                     \
            && __builtin_constant_p(kw) && kh >= BLOCK_ROWS - 1) {                                  \
            /* a kernel of constant size (3x3, 5x5): each loaded vector feeds every output row it  \
               reaches, two vectors at a time (the rows' sums in registers), in three phases so    \
               that no branch depends on the row: 3x3 float32 at 256x256 66 against 71 us, 5x5 at  \
               333x517 208 against 316 us (AMD EPYC Zen 3). Vectors past nv are summed too (the    \
               ring's rows are whole chunks wide) and not stored. */                               \
            _Pragma("GCC unroll 8") for (int h = 0; h < NAME##_NV; h += 2) {                        \
                if (h >= nv) break;                                                                 \
                NAME##_vec s[BLOCK_ROWS][2];                                                        \
                _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++)                        \
                    s[o][0] = s[o][1] = (NAME##_vec){0};                                            \
                _Pragma("GCC unroll 8") for (int r = 0; r < kh + BLOCK_ROWS - 1; r++) {             \
                    const T *row = in[r] + jin + h * NAME##_LANES;                                  \
                    int lo = r - kh + 1 > 0 ? r - kh + 1 : 0, hi = r < BLOCK_ROWS - 1 ? r : BLOCK_ROWS - 1; \
                    _Pragma("GCC unroll 16") for (int b = 0; b < kw; b++) {                         \
                        NAME##_vec x0 = NAME##_load(row + b), x1 = NAME##_load(row + b + NAME##_LANES); \
                        _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++) {              \
                            if (o < lo || o > hi) continue;                                         \
                            T w = k[(r - o) * kw + b];                                              \
                            s[o][0] += w * x0;                                                      \
                            s[o][1] += w * x1;                                                      \
                        }                                                                           \
                    }                                                                               \
                }                                                                                   \
                _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++) {                      \
                    acc[o][h] = s[o][0];                                                            \
                    acc[o][h + 1] = s[o][1];                                                        \
                }                                                                                   \
            }                                                                                       \
        } else if (SHARED_LOADS == 1) {                                                             \
            for (int r = 0; r < kh + BLOCK_ROWS - 1; r++) {                                         \
                if (in[r] == NULL) continue;                                                        \
                const T *row = in[r] + jin;                                                         \
                for (int b = 0; b < kw; b++) {                                                      \
                    NAME##_vec x[NAME##_NV];                                                        \
                    _Pragma("GCC unroll 8") for (int v = 0; v < NAME##_NV; v++)                     \
                        if (v < nv) x[v] = NAME##_load(row + b + v * NAME##_LANES);                 \
                    _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++) {                  \
                        int a = r - o;                                                              \
                        if (a >= 0 && a < kh) {                                                     \
                            T w = k[a * kw + b];                                                    \
                            _Pragma("GCC unroll 8") for (int v = 0; v < NAME##_NV; v++)             \
                                if (v < nv) acc[o][v] += w * x[v];                                  \
                        }                                                                           \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
        } else { /* per tap, every output row's input: no branch on the row, loads from memory */   \
            for (int a = 0; a < kh; a++) {                                                          \
                const T *rows[BLOCK_ROWS];                                                          \
                _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++)                        \
                    rows[o] = in[a + o] + jin; /* never NULL here: zero rows are read */            \
                for (int b = 0; b < kw; b++) {                                                      \
                    T w = k[a * kw + b];                                                            \
                    _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++)                    \
                        _Pragma("GCC unroll 8") for (int v = 0; v < NAME##_NV; v++)                 \
                            if (v < nv) acc[o][v] += w * NAME##_load(rows[o] + b + v * NAME##_LANES); \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
        Py_ssize_t m = width - j0 < NAME##_CHUNK ? width - j0 : NAME##_CHUNK;                       \
        _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++)                                \
            NAME##_store(out[o] + j0, acc[o], m, accumulate);                                       \
    }                                                                                               \
                                                                                                    \
    /* The BLOCK_ROWS output rows' sums at columns [j, j + LANES) into s[o][0]: rows[r] + j is     \
       extended row r at column j, w the kh x kw taps broadcast. Each loaded vector feeds every    \
       output row it reaches (a vector at a time: the four sums, a 3x3 kernel's nine taps and the \
       load fit in AVX2's 16 registers), in three phases so that no branch depends on the row.    \
       Unrolled for the sizes it is compiled for (3x3, 5x5, 7x7). */                                 \
    static INLINE void NAME##_sums(const T *const *rows, Py_ssize_t j, const NAME##_vec *restrict w, \
                                   int kh, int kw, NAME##_vec (*s)[2])                              \
    {                                                                                               \
        _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++) s[o][0] = (NAME##_vec){0};     \
        /* rows 0 to 2 feed the outputs o <= r ... */                                               \
        _Pragma("GCC unroll 4") for (int r = 0; r < BLOCK_ROWS - 1; r++) {                          \
            const T *row = rows[r] + j;                                                             \
            _Pragma("GCC unroll 16") for (int b = 0; b < kw; b++) {                                 \
                NAME##_vec x = NAME##_load(row + b);                                                \
                _Pragma("GCC unroll 4") for (int o = 0; o <= r; o++) s[o][0] += w[(r - o) * kw + b] * x; \
            }                                                                                       \
        }                                                                                           \
        /* ... rows 3 to kh - 1 all four ... */                                                     \
        _Pragma("GCC unroll 16") for (int r = BLOCK_ROWS - 1; r < kh; r++) {                        \
            const T *row = rows[r] + j;                                                             \
            const NAME##_vec *w0 = w + r * kw;                                                      \
            _Pragma("GCC unroll 16") for (int b = 0; b < kw; b++) {                                 \
                NAME##_vec x = NAME##_load(row + b);                                                \
                _Pragma("GCC unroll 4") for (int o = 0; o < BLOCK_ROWS; o++) s[o][0] += w0[b - o * kw] * x; \
            }                                                                                       \
        }                                                                                           \
        /* ... and rows kh + t (t < 3) the outputs o > t */                                         \
        _Pragma("GCC unroll 4") for (int t = 0; t < BLOCK_ROWS - 1; t++) {                          \
            const T *row = rows[kh + t] + j;                                                        \
            _Pragma("GCC unroll 16") for (int b = 0; b < kw; b++) {                                 \
                NAME##_vec x = NAME##_load(row + b);                                                \
                _Pragma("GCC unroll 4") for (int o = t + 1; o < BLOCK_ROWS; o++)                    \
                    s[o][0] += w[(kh + t - o) * kw + b] * x;                                        \
            }                                                                                       \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    /* As NAME##_sums, two vectors at a time into s[o][0] and s[o][1] (the eight sums in           \
       registers, each tap loaded once for both: 6 loads for 8 multiply-adds), the sizes variables \
       and the loops not unrolled: one compact copy serves every size (unrolled, as NAME##_sums,   \
       it took 4x the build time for under 7 %). */                                                \
    static INLINE void NAME##_sums2(const T *const *rows, Py_ssize_t j, const NAME##_vec *restrict w, \
                                    int kh, int kw, NAME##_vec (*s)[2])                             \
    {                                                                                               \
        _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++) s[o][0] = s[o][1] = (NAME##_vec){0}; \
        _Pragma("GCC unroll 4") for (int r = 0; r < BLOCK_ROWS - 1; r++) {                          \
            const T *row = rows[r] + j;                                                             \
            for (int b = 0; b < kw; b++) {                                                          \
                NAME##_vec x0 = NAME##_load(row + b), x1 = NAME##_load(row + b + NAME##_LANES);     \
                _Pragma("GCC unroll 4") for (int o = 0; o <= r; o++) {                              \
                    NAME##_vec t = w[(r - o) * kw + b];                                             \
                    s[o][0] += t * x0;                                                              \
                    s[o][1] += t * x1;                                                              \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
        for (int r = BLOCK_ROWS - 1; r < kh; r++) {                                                 \
            const T *row = rows[r] + j;                                                             \
            const NAME##_vec *w0 = w + r * kw;                                                      \
            for (int b = 0; b < kw; b++) {                                                          \
                NAME##_vec x0 = NAME##_load(row + b), x1 = NAME##_load(row + b + NAME##_LANES);     \
                _Pragma("GCC unroll 4") for (int o = 0; o < BLOCK_ROWS; o++) {                      \
                    NAME##_vec t = w0[b - o * kw];                                                  \
                    s[o][0] += t * x0;                                                              \
                    s[o][1] += t * x1;                                                              \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
        _Pragma("GCC unroll 4") for (int t = 0; t < BLOCK_ROWS - 1; t++) {                          \
            const T *row = rows[kh + t] + j;                                                        \
            for (int b = 0; b < kw; b++) {                                                          \
                NAME##_vec x0 = NAME##_load(row + b), x1 = NAME##_load(row + b + NAME##_LANES);     \
                _Pragma("GCC unroll 4") for (int o = t + 1; o < BLOCK_ROWS; o++) {                  \
                    NAME##_vec u = w[(kh + t - o) * kw + b];                                        \
                    s[o][0] += u * x0;                                                              \
                    s[o][1] += u * x1;                                                              \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    /* As NAME##_sums2 for one-row kernels: each output row reads its own input row only (the    \
       generic chunks kept 16 sums, spilled on 16 registers: 1 x 25 float64 at 1024² 3.0 ms). */   \
    static INLINE void NAME##_row_sums2(const T *const *rows, Py_ssize_t j, const NAME##_vec *restrict w, \
                                        int kw, NAME##_vec (*s)[2])                                 \
    {                                                                                               \
        _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++) s[o][0] = s[o][1] = (NAME##_vec){0}; \
        for (int b = 0; b < kw; b++) {                                                              \
            NAME##_vec t = w[b];                                                                    \
            _Pragma("GCC unroll 4") for (int o = 0; o < BLOCK_ROWS; o++) {                          \
                const T *at = rows[o] + j + b;                                                      \
                s[o][0] += t * NAME##_load(at);                                                     \
                s[o][1] += t * NAME##_load(at + NAME##_LANES);                                      \
            }                                                                                       \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    /* BLOCK_ROWS output rows, columns [j0, j1) (those below `width` stored), nv vectors at a time \
       (1: NAME##_sums, 2: NAME##_sums2); in[r] + jin + j is extended row r at output column j. */  \
    static INLINE void NAME##_strip(const T *const *in, Py_ssize_t jin, const NAME##_vec *restrict w, \
                                    int kh, int kw, int nv, T *const *out, Py_ssize_t j0,          \
                                    Py_ssize_t j1, Py_ssize_t width, int accumulate)                \
    {                                                                                               \
        const T *rows[BLOCK_ROWS + STRIP_LINE_TAPS - 1];                                                 \
        _Pragma("GCC unroll 8") for (int r = 0; r < BLOCK_ROWS + kh - 1; r++) rows[r] = in[r] + jin; \
        NAME##_vec s[BLOCK_ROWS][2];                                                                \
        Py_ssize_t step = nv * NAME##_LANES;                                                        \
        Py_ssize_t whole = (j1 < width ? j1 : width) - step; /* the last whole step's start */      \
        Py_ssize_t j = j0;                                                                          \
        for (; j <= whole; j += step) {                                                             \
            if (nv == 1) NAME##_sums(rows, j, w, kh, kw, s);                                        \
            else if (kh == 1) NAME##_row_sums2(rows, j, w, kw, s);                                  \
            else NAME##_sums2(rows, j, w, kh, kw, s);                                               \
            _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++)                            \
                _Pragma("GCC unroll 2") for (int v = 0; v < nv; v++) {                              \
                    T *at = out[o] + j + v * NAME##_LANES;                                          \
                    if (accumulate) s[o][v] += NAME##_load(at);                                     \
                    memcpy(at, &s[o][v], sizeof s[o][v]);                                           \
                }                                                                                   \
        }                                                                                           \
        for (; j < j1; j += step) {                                                                 \
            if (nv == 1) NAME##_sums(rows, j, w, kh, kw, s);                                        \
            else if (kh == 1) NAME##_row_sums2(rows, j, w, kw, s);                                  \
            else NAME##_sums2(rows, j, w, kh, kw, s);                                               \
            _Pragma("GCC unroll 8") for (int o = 0; o < BLOCK_ROWS; o++)                            \
                for (int v = 0; v < nv && width - j > v * NAME##_LANES; v++)                        \
                    NAME##_put(out[o] + j + v * NAME##_LANES, s[o][v], width - j - v * NAME##_LANES, \
                               accumulate);                                                         \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    /* Every column of BLOCK_ROWS output rows by strips: the ring's rows where the reads pass the   \
       middle run's ends, the source rows in place between. */                                      \
    static INLINE void NAME##_strips(const T *const *in, const T *const *direct, Py_ssize_t jd,     \
                                     const NAME##_vec *restrict w, int kh, int kw, int nv,          \
                                     T *const *out, Py_ssize_t in_lo, Py_ssize_t in_hi,             \
                                     Py_ssize_t width, int accumulate)                              \
    {                                                                                               \
        NAME##_strip(in, 0, w, kh, kw, nv, out, 0, in_lo, width, accumulate);                       \
        NAME##_strip(direct, jd, w, kh, kw, nv, out, in_lo, in_hi, width, accumulate);              \
        NAME##_strip(in, 0, w, kh, kw, nv, out, in_hi, width, width, accumulate);                   \
    }                                                                                               \
                                                                                                    \
    /* NAME##_strips two vectors wide for kernels of any size: out of line, one copy. */           \
    TARGET static __attribute__((noinline)) void NAME##_strips_any(                                \
        const T *const *in, const T *const *direct, Py_ssize_t jd, const NAME##_vec *restrict w,   \
        int kh, int kw, T *const *out, Py_ssize_t in_lo, Py_ssize_t in_hi, Py_ssize_t width,        \
        int accumulate)                                                                             \
    {                                                                                               \
        NAME##_strips(in, direct, jd, w, kh, kw, 2, out, in_lo, in_hi, width, accumulate);          \
    }                                                                                               \
                                                                                                    \
    /* One output row (the rows left over after whole blocks). */                                   \
    static INLINE void NAME##_row(const T *const *in, Py_ssize_t jin, const T *k, int kh, int kw,   \
                                  T *out, Py_ssize_t j0, Py_ssize_t width, int accumulate)          \
    {                                                                                               \
        NAME##_vec acc[NAME##_NV];                                                              \
        _Pragma("GCC unroll 8") for (int v = 0; v < NAME##_NV; v++) acc[v] = (NAME##_vec){0};   \
        for (int a = 0; a < kh; a++) {                                                              \
            if (in[a] == NULL) continue;                                                            \
            const T *row = in[a] + jin;                                                             \
            for (int b = 0; b < kw; b++) {                                                          \
                T w = k[a * kw + b];                                                                \
                _Pragma("GCC unroll 8") for (int v = 0; v < NAME##_NV; v++)                     \
                    acc[v] += w * NAME##_load(row + b + v * NAME##_LANES);                          \
            }                                                                                       \
        }                                                                                           \
        Py_ssize_t m = width - j0 < NAME##_CHUNK ? width - j0 : NAME##_CHUNK;                       \
        NAME##_store(out + j0, acc, m, accumulate);                                                 \
    }                                                                                               \
                                                                                                    \
    /* A block's last chunk when fewer than NAME##_NV vectors cover it: out of line (and        \
       compiled for each target, as the loop is), so the loop over whole chunks compiles as it      \
       would without it; nv a constant in each call, the accumulators kept in registers. */         \
    TARGET static __attribute__((noinline)) void NAME##_tail(const T *const *in, const T *k, int kh, \
                                                             int kw, T *const *dst, Py_ssize_t j0,  \
                                                             Py_ssize_t width, int accumulate,      \
                                                             int nv)                                \
    {                                                                                               \
        if (nv == 1 && kh == 3 && kw == 3)                                                          \
            NAME##_block(in, j0, k, 3, 3, dst, j0, width, accumulate, 1);                           \
        else if (nv == 1)                                                                           \
            NAME##_block(in, j0, k, kh, kw, dst, j0, width, accumulate, 1);                         \
        else if (nv == 2)                                                                           \
            NAME##_block(in, j0, k, kh, kw, dst, j0, width, accumulate, 2);                         \
        else                                                                                        \
            NAME##_block(in, j0, k, kh, kw, dst, j0, width, accumulate, 3);                         \
    }                                                                                               \
                                                                                                    \
    /* n values from src to dst by whole vectors, the last one overlapping: memcpy's call for the   \
       ~130 bytes of a row's edge chunks took 13-15 % of 3x3 float32 at 256x256 (AMD EPYC Zen 3). */  \
    static INLINE void NAME##_copy(T *dst, const T *src, Py_ssize_t n)                              \
    {                                                                                               \
        if (n < NAME##_LANES) {                                                                     \
            for (Py_ssize_t t = 0; t < n; t++) dst[t] = src[t];                                     \
            return;                                                                                 \
        }                                                                                           \
        Py_ssize_t t = 0;                                                                           \
        for (; t + NAME##_LANES <= n; t += NAME##_LANES) {                                          \
            NAME##_vec v = NAME##_load(src + t);                                                    \
            memcpy(dst + t, &v, sizeof v);                                                          \
        }                                                                                           \
        if (t < n) {                                                                                \
            NAME##_vec v = NAME##_load(src + n - NAME##_LANES);                                     \
            memcpy(dst + n - NAME##_LANES, &v, sizeof v);                                           \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
    /* Columns [c0, c1) of extended row r of source plane x into `slot` (columns beyond the         \
       extended row are zero). */                                                                   \
    static INLINE void NAME##_build(const job *J, const char *x, Py_ssize_t r, T *slot, Py_ssize_t c0,     \
                             Py_ssize_t c1, T cval)                                                 \
    {                                                                                               \
        const T *src = (const T *)(x + J->row_map[r] * J->x_row);                                   \
        Py_ssize_t ext = J->width + J->kw - 1;                                                      \
        Py_ssize_t m0 = J->mid_d0, m1 = J->mid_d0 + J->mid_n;                                       \
        Py_ssize_t c = c0;                                                                          \
        for (; c < c1 && c < m0; c++) slot[c] = J->col_map[c] < 0 ? cval : src[J->col_map[c]];      \
        if (c < c1 && c < m1) {                                                                     \
            Py_ssize_t stop = c1 < m1 ? c1 : m1;                                                    \
            NAME##_copy(slot + c, src + J->mid_s0 + (c - m0), stop - c);                            \
            c = stop;                                                                               \
        }                                                                                           \
        for (; c < c1 && c < ext; c++) slot[c] = J->col_map[c] < 0 ? cval : src[J->col_map[c]];     \
        for (; c < c1; c++) slot[c] = 0;                                                            \
    }                                                                                               \
                                                                                                    \
    /* Whether reading the source rows in place would make them and the output rows evict each     \
       other from the L1 cache: rows a multiple of 4 KiB apart all fall in the same cache sets, and \
       output rows at nearly the same place within 4 KiB in those sets too (16 MiB arrays come from \
       the system page-aligned, so this is the rule there). The ring's rows, spaced otherwise, are  \
       read instead: 2048x2048 float32, 5x5, output 0 bytes away: in place 7.4-7.8 ms, from the    \
       ring 4.0, in place 1 KiB away 3.6 (AMD EPYC Zen 3). */                                       \
    static INLINE int NAME##_sets_clash(const job *J, const char *x, const char *out)              \
    {                                                                                               \
        size_t apart = ((uintptr_t)out - (uintptr_t)x) % 4096;                                      \
        return x != NULL && J->x_row % 4096 == 0 && (apart < 512 || apart > 4096 - 512);            \
    }                                                                                               \
                                                                                                    \
    /* One plane: out (+)= k correlated with source plane x extended (x NULL: the constant).        \
       Chunks of columns whose reads all fall in the middle run are read straight from the source   \
       rows; only the columns the other chunks read are built into the ring. */                     \
    static INLINE void NAME##_plane(const job *J, const char *x, char *out, const T *k, T cval,     \
                                    T *ring, const T *cval_row, Py_ssize_t padded, int accumulate,  \
                                    const T **in, const T **direct)                                 \
    {                                                                                               \
        int kh = J->kh, kw = J->kw;                                                                 \
        int slots = kh + (J->height < BLOCK_ROWS ? (int)J->height : BLOCK_ROWS) - 1;                \
        Py_ssize_t chunks = (J->width + NAME##_CHUNK - 1) / NAME##_CHUNK;                           \
        Py_ssize_t last = J->width - (chunks - 1) * NAME##_CHUNK; /* columns of the last chunk */   \
        int tail_vectors = (int)((last + NAME##_LANES - 1) / NAME##_LANES);                         \
        /* chunks [lo, hi) read only middle-run columns: c * CHUNK >= d0 and                        \
           c * CHUNK + CHUNK + kw - 1 <= d0 + n */                                                  \
        Py_ssize_t lo = (J->mid_d0 + NAME##_CHUNK - 1) / NAME##_CHUNK;                              \
        Py_ssize_t end = J->mid_d0 + J->mid_n - kw + 1 - NAME##_CHUNK;                              \
        Py_ssize_t hi = end < 0 ? 0 : end / NAME##_CHUNK + 1;                                       \
        if (hi > chunks - 1 && tail_vectors < NAME##_NV) hi = chunks - 1;                       \
        if (hi > chunks) hi = chunks;                                                               \
        if (hi <= lo || NAME##_sets_clash(J, x, out)) lo = hi = 0;                                  \
        Py_ssize_t built_lo = lo * NAME##_CHUNK + kw - 1; /* the ring holds [0, built_lo) ... */    \
        Py_ssize_t built_hi = hi * NAME##_CHUNK;          /* ... and [built_hi, padded) */          \
        if (lo == hi) built_lo = built_hi = padded;                                                 \
        Py_ssize_t built = 0; /* extended rows below this have been built (or skipped) */           \
        /* strips on the targets of 16 vector registers, for float kernels of 3 to STRIP_TAPS     \
           rows and columns (integer sums keep the blocks: 64-bit multiplies are emulated on AVX2) */ \
        int strips = SHARED_LOADS != 1 && (T)0.5 != (T)0 && kh * kw <= STRIP_LINE_TAPS             \
                     && ((kh >= BLOCK_ROWS - 1 && (kw == 1 || (kh <= STRIP_TAPS && kw <= STRIP_TAPS))) \
                         || kh == 1);                                                             \
        NAME##_vec taps[STRIP_LINE_TAPS]; /* the taps broadcast, once a plane */                 \
        for (int t = 0; strips && t < kh * kw; t++) taps[t] = (NAME##_vec){0} + k[t];               \
        T *dst[BLOCK_ROWS];                                                                         \
        for (Py_ssize_t i = 0; i < J->height; i += BLOCK_ROWS) {                                    \
            int nout = J->height - i < BLOCK_ROWS ? (int)(J->height - i) : BLOCK_ROWS;              \
            for (int q = 0; q < nout + kh - 1; q++) {                                               \
                Py_ssize_t r = i + q;                                                               \
                T *slot = ring + (size_t)(r % slots) * (size_t)padded;                              \
                if (x == NULL || J->row_map[r] < 0) {                                               \
                    in[q] = cval == 0 && SHARED_LOADS == 1 ? NULL : cval_row; /* else a row of cval */ \
                    direct[q] = in[q];                                                              \
                    continue;                                                                       \
                }                                                                                   \
                if (r >= built) {                                                                   \
                    NAME##_build(J, x, r, slot, 0, built_lo, cval);                                 \
                    if (built_hi < padded) NAME##_build(J, x, r, slot, built_hi, padded, cval);     \
                }                                                                                   \
                in[q] = slot;                                                                       \
                direct[q] = (const T *)(x + J->row_map[r] * J->x_row) + J->mid_s0;                  \
            }                                                                                       \
            built = i + nout + kh - 1;                                                              \
            for (int o = 0; o < nout; o++) dst[o] = (T *)(out + (i + o) * J->out_row);              \
            if (strips && nout == BLOCK_ROWS) {                                                     \
                Py_ssize_t in_lo = lo * NAME##_CHUNK, in_hi = hi * NAME##_CHUNK, jd = -J->mid_d0;   \
                if (kh == 3 && kw == 3)                                                             \
                    NAME##_strips(in, direct, jd, taps, 3, 3, 1, dst, in_lo, in_hi, J->width, accumulate); \
                else if (kh == 5 && kw == 5)                                                        \
                    NAME##_strips(in, direct, jd, taps, 5, 5, 1, dst, in_lo, in_hi, J->width, accumulate); \
                else if (kh == 7 && kw == 7)                                                        \
                    NAME##_strips(in, direct, jd, taps, 7, 7, 1, dst, in_lo, in_hi, J->width, accumulate); \
                else                                                                                \
                    NAME##_strips_any(in, direct, jd, taps, kh, kw, dst, in_lo, in_hi, J->width, accumulate); \
                continue;                                                                           \
            }                                                                                       \
            for (Py_ssize_t c = 0; c < chunks; c++) {                                               \
                Py_ssize_t j0 = c * NAME##_CHUNK;                                                   \
                int inside = c >= lo && c < hi;                                                     \
                const T *const *src = inside ? direct : in;                                         \
                Py_ssize_t jin = inside ? j0 - J->mid_d0 : j0;                                      \
                if (nout == BLOCK_ROWS && c == chunks - 1 && tail_vectors < NAME##_NV)          \
                    NAME##_tail(in, k, kh, kw, dst, j0, J->width, accumulate, tail_vectors);        \
                else if (nout == BLOCK_ROWS && kh == 3 && kw == 3) /* constants: taps unrolled */   \
                    NAME##_block(src, jin, k, 3, 3, dst, j0, J->width, accumulate, NAME##_NV);  \
                else if (nout == BLOCK_ROWS && kh == 5 && kw == 5)                                  \
                    NAME##_block(src, jin, k, 5, 5, dst, j0, J->width, accumulate, NAME##_NV);  \
                else if (nout == BLOCK_ROWS)                                                        \
                    NAME##_block(src, jin, k, kh, kw, dst, j0, J->width, accumulate,                \
                                 NAME##_NV);                                                    \
                else                                                                                \
                    for (int o = 0; o < nout; o++)                                                  \
                        NAME##_row(src + o, jin, k, kh, kw, dst[o], j0, J->width, accumulate);      \
            }                                                                                       \
        }                                                                                           \
    }                                                                                               \
                                                                                                    \
                                                                                                    \
    /* Every output plane: the sum over kernel planes of the plane correlations. */                 \
    TARGET static int NAME(const job *J, const T *k, T cval)                                        \
    {                                                                                               \
        Py_ssize_t chunks = (J->width + NAME##_CHUNK - 1) / NAME##_CHUNK;                           \
        Py_ssize_t padded = chunks * NAME##_CHUNK + J->kw - 1;                                      \
        /* the ring (only as many rows as a block reads: 1-D needs one), then a row of cval if     \
           it is not zero; kept small, as glibc hands allocations over 128 KiB out as fresh pages */ \
        int slots = J->kh + (J->height < BLOCK_ROWS ? (int)J->height : BLOCK_ROWS) - 1;             \
        int cval_rows = cval != 0 || SHARED_LOADS != 1; /* else zero rows are read, not skipped */ \
        T *ring = malloc((size_t)(slots + cval_rows) * (size_t)padded * sizeof(T));                 \
        const T **in = malloc(2 * (size_t)(J->kh + BLOCK_ROWS) * sizeof(T *)); /* ring, direct */ \
        if (ring == NULL || in == NULL) {                                                           \
            free(ring);                                                                             \
            free(in);                                                                               \
            return -1;                                                                              \
        }                                                                                           \
        T *cval_row = ring + (size_t)slots * (size_t)padded;                                        \
        for (Py_ssize_t c = 0; cval_rows && c < padded; c++)                                        \
            cval_row[c] = c < J->width + J->kw - 1 ? cval : 0;                                      \
        for (Py_ssize_t p = 0; p < J->depth; p++) {                                                 \
            char *out = J->out + p * J->out_plane;                                                  \
            int written = J->accumulate;                                                            \
            for (int c = 0; c < J->kd; c++) {                                                       \
                int64_t s = J->plane_map[p + c];                                                    \
                if (s < 0 && cval == 0) continue; /* a plane of zeros adds nothing */               \
                NAME##_plane(J, s < 0 ? NULL : J->x + s * J->x_plane, out,                          \
                             k + (size_t)c * J->kh * J->kw, cval, ring, cval_row, padded, written,  \
                             in, in + J->kh + BLOCK_ROWS);                                          \
                written = 1;                                                                        \
            }                                                                                       \
            if (!written)                                                                           \
                for (Py_ssize_t i = 0; i < J->height; i++)                                          \
                    memset(out + i * J->out_row, 0, (size_t)J->width * sizeof(T));                 \
        }                                                                                           \
        free(ring);                                                                                 \
        free(in);                                                                                   \
        return 0;                                                                                   \
    }

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define ON_AVX512 __attribute__((target("arch=x86-64-v4")))
#define ON_AVX2 __attribute__((target("arch=x86-64-v3")))
#define FOR_TARGETS(T, NAME)                                                                       \
    DEFINE_CORRELATE(T, NAME##_v4, 64, 4, ON_AVX512, 1)                                             \
    DEFINE_CORRELATE(T, NAME##_v3, 32, 4, ON_AVX2, 2)                                               \
    DEFINE_CORRELATE(T, NAME##_v1, 16, 2, , 0)                                                      \
    static int NAME(const job *J, const T *k, T cval)                                               \
    {                                                                                               \
        if (level() >= 4) return NAME##_v4(J, k, cval);                                             \
        if (level() == 3) return NAME##_v3(J, k, cval);                                             \
        return NAME##_v1(J, k, cval);                                                               \
    }

/* The x86-64 level the loops run at (4: AVX-512, 3: AVX2, 1: the baseline): the CPU's, looked up
 * once, or a lower one asked for by use_level (tests run every variant the CPU can). */
static int supported = 0, in_use = 0;
static int level(void)
{
    if (!supported) {
        __builtin_cpu_init();
        supported = __builtin_cpu_supports("x86-64-v4") ? 4 : __builtin_cpu_supports("x86-64-v3") ? 3 : 1;
        in_use = supported;
    }
    return in_use;
}
#else /* the compiler's own target */
#define FOR_TARGETS(T, NAME) DEFINE_CORRELATE(T, NAME, 32, 4, , 1)
#endif

FOR_TARGETS(float, correlate_f32)
FOR_TARGETS(double, correlate_f64)
FOR_TARGETS(int64_t, correlate_i64)

/* ---- Python binding ---------------------------------------------------------------- */

/* 0 for float32, 1 for float64, 2 for int64, -1 for anything else */
static int kind_of(const Py_buffer *view) { return buffer_kind(view, KINDS_FLOAT | (1u << KIND_I64)); }

/* A 1-D to 3-D view as 3-D (leading axes of length 1), its columns contiguous; 0 if it is not one.
   A last axis of one column is contiguous whatever its stride (NumPy's reshape of a reversed
   (19, 1) array gives it the rows' stride, -8). */
static int as_volume(const Py_buffer *v, Py_ssize_t shape[3], Py_ssize_t strides[3])
{
    if (v->ndim < 1 || v->ndim > 3 || (v->shape[v->ndim - 1] > 1 && v->strides[v->ndim - 1] != v->itemsize))
        return 0;
    int lead = 3 - v->ndim;
    for (int i = 0; i < 3; i++) {
        shape[i] = i < lead ? 1 : v->shape[i - lead];
        strides[i] = i < lead ? 0 : v->strides[i - lead];
    }
    return 1;
}

static int get_buffer(PyObject *obj, Py_buffer *view, int flags, int *held)
{
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    (*held)++;
    return 0;
}

static int is_int64_vector(const Py_buffer *v)
{
    const char *f = v->format ? v->format : "B";
    if (*f == '=' || *f == '<' || *f == '@') f++;
    return v->ndim == 1 && v->itemsize == 8 && (f[0] == 'l' || f[0] == 'q') && f[1] == '\0';
}

/* Whether `map` has `length` entries, each -1 or a source index below `bound`, outside the
   entries [skip, skip + skipped), which are never read (the columns' middle run: `mid` names
   them, and its own bounds are checked). */
static int map_fits(const Py_buffer *map, Py_ssize_t length, Py_ssize_t bound, Py_ssize_t skip,
                    Py_ssize_t skipped)
{
    if (map->shape[0] != length) return 0;
    const int64_t *m = map->buf;
    for (Py_ssize_t i = 0; i < length; i++) {
        if (i == skip) i += skipped;
        if (i < length && (m[i] < -1 || m[i] >= bound)) return 0;
    }
    return 1;
}

static PyObject *py_correlate(PyObject *self, PyObject *args)
{
    PyObject *objects[6];
    Py_ssize_t mid_d0, mid_s0, mid_n;
    double cval_f;
    long long cval_i;
    int accumulate;
    if (!PyArg_ParseTuple(args, "OOOOOO(nnn)dLp", &objects[0], &objects[1], &objects[2], &objects[3],
                          &objects[4], &objects[5], &mid_d0, &mid_s0, &mid_n, &cval_f, &cval_i, &accumulate))
        return NULL;
    static const int flags[6] = {PyBUF_STRIDED_RO | PyBUF_FORMAT, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT,
                                 PyBUF_STRIDED | PyBUF_FORMAT,    PyBUF_C_CONTIGUOUS | PyBUF_FORMAT,
                                 PyBUF_C_CONTIGUOUS | PyBUF_FORMAT, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT};
    Py_buffer views[6];
    int held = 0;
    PyObject *result = NULL;
    for (int i = 0; i < 6; i++)
        if (get_buffer(objects[i], &views[i], flags[i], &held) < 0) goto done;
    Py_buffer *x = &views[0], *k = &views[1], *out = &views[2];
    Py_buffer *planes = &views[3], *rows = &views[4], *cols = &views[5];
    int kind = kind_of(x);
    if (kind < 0 || kind != kind_of(k) || kind != kind_of(out)) {
        PyErr_SetString(PyExc_TypeError, "x, k and out must share one dtype: float32, float64 or int64");
        goto done;
    }
    Py_ssize_t xs[3], xst[3], os[3], ost[3]; /* x and out as 3-D: shapes and strides */
    if (!as_volume(x, xs, xst) || !as_volume(out, os, ost) || k->ndim != 3 || !is_int64_vector(planes) ||
        !is_int64_vector(rows) || !is_int64_vector(cols)) {
        PyErr_SetString(PyExc_ValueError,
                        "x and out must be 1-D to 3-D with contiguous rows, k 3-D, the maps 1-D int64");
        goto done;
    }
    job J = {x->buf, xst[0], xst[1], planes->buf, rows->buf, cols->buf, mid_d0, mid_s0, mid_n,
             (int)k->shape[0], (int)k->shape[1], (int)k->shape[2], out->buf, ost[0],
             ost[1], os[0], os[1], os[2], accumulate};
    Py_ssize_t ext_cols = J.width + J.kw - 1;
    if (k->shape[0] < 1 || k->shape[1] < 1 || k->shape[2] < 1 || k->shape[1] > MAX_TAPS ||
        k->shape[0] > INT_MAX || k->shape[2] > INT_MAX ||
        mid_d0 < 0 || mid_n < 0 || mid_s0 < 0 || mid_d0 + mid_n > ext_cols || mid_s0 + mid_n > xs[2] ||
        !map_fits(planes, J.depth + J.kd - 1, xs[0], 0, 0) ||
        !map_fits(rows, J.height + J.kh - 1, xs[1], 0, 0) ||
        !map_fits(cols, ext_cols, xs[2], mid_d0, mid_n)) {
        PyErr_SetString(PyExc_ValueError, "index maps, middle run, kernel and output do not fit together");
        goto done;
    }
    int status = 0;
    if (J.depth > 0 && J.height > 0 && J.width > 0) {
        Py_BEGIN_ALLOW_THREADS
        if (kind == 0)
            status = correlate_f32(&J, k->buf, (float)cval_f);
        else if (kind == 1)
            status = correlate_f64(&J, k->buf, cval_f);
        else
            status = correlate_i64(&J, k->buf, (int64_t)cval_i);
        Py_END_ALLOW_THREADS
    }
    if (status < 0) {
        PyErr_NoMemory();
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    for (int i = 0; i < held; i++) PyBuffer_Release(&views[i]);
    return result;
}

static PyObject *py_variant(PyObject *self, PyObject *unused)
{
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    int at = level();
    if (at == 4) return PyUnicode_FromString("x86-64-v4 (AVX-512)");
    if (at == 3) return PyUnicode_FromString("x86-64-v3 (AVX2)");
    return PyUnicode_FromString("x86-64 baseline (SSE2)");
#else
    return PyUnicode_FromString("compiler default");
#endif
}

static PyObject *py_use_level(PyObject *self, PyObject *args)
{
    int asked;
    if (!PyArg_ParseTuple(args, "i", &asked)) return NULL;
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    level();
    in_use = asked <= 0 || asked > supported ? supported : asked >= 4 ? 4 : asked >= 3 ? 3 : 1;
    return PyLong_FromLong(in_use);
#else
    return PyLong_FromLong(0);
#endif
}

static PyMethodDef methods[] = {
    {"correlate", py_correlate, METH_VARARGS,
     "correlate(x, k, out, plane_map, row_map, col_map, (d0, s0, n), cval, int_cval, accumulate): "
     "x and out 1-D to 3-D (read as 3-D), k 3-D; see the source."},
    {"variant", py_variant, METH_NOARGS, "Which compiled variant of the loops this CPU runs."},
    {"use_level", py_use_level, METH_VARARGS,
     "use_level(n): run the variant of x86-64 level n (1, 3, 4; at most the CPU's; 0: the CPU's) "
     "and return the level in use (0 where the loops have one variant). For tests."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_direct_loops",
                                    "Compiled direct sums of small kernels (see direct_loops.c).", -1,
                                    methods};

PyMODINIT_FUNC PyInit__direct_loops(void) { return PyModule_Create(&module); }
