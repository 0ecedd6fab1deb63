"""What ``fftconv tune`` measures: the grids of each group of coefficients.

Shapes are chosen so that each group's terms can be told apart: transforms across sizes,
ranks, radices, precisions and the L3 boundary; spectral convolutions from many small tiles
to whole arrays; direct sums whose kernel rows are too long for the rows path (scipy.ndimage's
loop) or short enough for it.
"""

from __future__ import annotations


def fft_cases(quick: bool) -> list[tuple[tuple[int, ...], str]]:
    """(shape, dtype) of the transform pairs timed."""
    sizes_2d = [32, 64, 128, 256, 512, 1024, 2048] + ([] if quick else [3000])
    cases = [((n, n), "float64") for n in sizes_2d]
    cases += [((n, n), "float32") for n in (128, 512, 1024)]
    cases += [((n, n), "complex128") for n in (128, 512)]
    cases += [((n,), "float64") for n in (256, 1024, 4096, 16384, 65536)]
    # lengths with factors 3, 5 and 7 (FFTW's passes of each radix run at their own speed)
    odd = (240, 270, 280) if quick else (240, 250, 252, 270, 280, 288, 300)
    cases += [((n, n), "float64") for n in odd]
    cases += [((n, n, n), "float64") for n in ((32, 64, 72) if quick else (32, 48, 64, 72, 80, 128))]
    return cases


def spectral_cases(quick: bool) -> list[tuple[tuple[int, ...], tuple[int, ...], str, object]]:
    """(image, kernel, mode, executor or fixed tile shape) of the spectral convolutions timed."""
    cases: list = [((256, 256), (5, 5), "tiled"), ((512, 512), (9, 9), "fft"),
                   ((1024, 1024), (7, 7), "tiled"), ((64, 64), (5, 5), "fft"), ((8192,), (101,), "fft"),
                   ((8192,), (511,), "tiled"), ((30000,), (255,), "fft"),
                   ((2048, 2048), (15, 15), "tiled")]
    if not quick:
        cases += [((1024, 1024), (31, 31), "fft"), ((3000, 3000), (11, 11), "tiled"),
                  ((64, 64, 64), (5, 5, 5), "tiled"), ((100000,), (301,), "tiled")]
    cases = [(s1, s2, "same", m) for s1, s2, m in cases]
    # small fixed tiles, so that the per-tile overhead can be told apart from per-point costs
    cases += [((512, 512), (3, 3), "same", (32, 32)), ((512, 512), (5, 5), "same", (64, 64)),
              ((20000,), (5,), "same", (64,))]
    return cases


def direct_cases(quick: bool) -> dict[str, tuple[list[tuple[tuple[int, ...], tuple[int, ...]]], str]]:
    """Per direct executor: (image, kernel) pairs timed in 'same' mode, and their dtype.
    Kernel rows longer than the rows path takes go to scipy.ndimage's loop."""
    return {
        "direct.windows": ([((4, 4), (2, 2)), ((16, 16), (3, 3)), ((64, 64), (3, 3)), ((256, 256), (7, 7)),
                            ((8, 8, 8), (3, 3, 3))], "float64"),
        "direct.ndimage": ([((1024, 1024), (1, 13)), ((256, 256), (15, 15)), ((512, 512), (13, 13)),
                            ((128, 128), (31, 31))], "float64"),
        "direct.rows": ([((512, 512), (3, 3)), ((1024, 1024), (5, 5)), ((256, 256), (9, 9)),
                         ((256, 256), (3, 3)), ((512, 512), (11, 11))], "float64"),
        "direct.numpy": ([((8192,), (31,)), ((65536,), (101,)), ((4096,), (1023,))], "float64"),
        "direct.shift_add": ([((256, 256), (5, 5))], "int64"),
        "direct.compiled": ([((256, 256), (3, 3)), ((512, 512), (3, 3)), ((1024, 1024), (5, 5)),
                             ((256, 256), (11, 11)), ((512, 512), (15, 15)), ((64, 64), (3, 3)),
                             ((512, 512), (1, 31)), ((512, 512), (31, 1))], "float32"),
    }


def separable_cases(quick: bool) -> list[tuple[tuple[int, ...], int]]:
    """(image, kernel length per axis) of the separable passes timed (float64)."""
    return [((1024, 1024), 13), ((2048, 2048), 31)][: 1 if quick else 2]


def validation_cases(quick: bool) -> list[tuple[tuple[int, ...], tuple[int, ...], str]]:
    """(image, kernel, mode) on which the planner's regret is measured, before and after."""
    cases = [((512, 512), (3, 3), "same"), ((512, 512), (9, 9), "same"), ((1024, 1024), (5, 5), "full"),
             ((8192,), (101,), "full"), ((200, 200), (41, 41), "valid"), ((300, 300), (17, 17), "same")]
    if not quick:
        cases += [((2048, 2048), (31, 31), "same"), ((64, 64, 64), (3, 3, 3), "same"),
                  ((100000,), (31,), "full"), ((1500, 1500), (65, 65), "same"),
                  ((4096, 4096), (9, 9), "same"), ((128, 128, 128), (9, 9, 9), "same"),
                  ((600, 600), (3, 3), "full"), ((128, 128), (31, 31), "full")]
    return cases
