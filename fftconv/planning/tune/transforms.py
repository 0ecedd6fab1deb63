"""Fitting the transform coefficients of the cost model to the FFT backend's pairs.

Per-point cost ``a log2(N) + b`` on real double in-cache power-of-two transforms (both terms:
a log-only fit overprices the small transforms of tiles against whole arrays), then the
weights of radices 3, 5 and 7 jointly, then the 3-D, out-of-cache, single and complex
factors as median ratios. Predictions are `CostModel.fft_seconds`, the very function every
spectral estimate uses.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
import scipy.optimize

from ... import config
from ...backends import get_backend
from ...timing import typical_time
from ..costs import CostModel, precision

#: Radix weights tried (relative to radix 2): 1.0 to 4.0 in steps of 0.25.
RADIX_GRID = [w / 4 for w in range(4, 17)]


def measure_transforms(cases: Sequence[tuple[tuple[int, ...], str]], budget: float, rng,
                       step: Callable[[], object], clock: Callable[[], float] = time.perf_counter
                       ) -> list[tuple[tuple[int, ...], str, float]]:
    """(shape, dtype, seconds of one transform) for each case: a measured forward plus
    inverse pair on one thread, halved, timed by ``clock``."""
    backend = get_backend(config.get().backend)
    measured = []
    with config.override(planner_effort="measure"):
        for shape, dtype in cases:
            dt = np.dtype(dtype)
            real = dt.kind != "c"
            pair = backend.transform_pair((), shape, real, dt.type(0).real.dtype if real else dt, 1)
            pair.begin()
            pair.data[...] = rng.standard_normal(pair.data.shape)
            seconds = typical_time(lambda p=pair: (p.forward(), p.inverse()), budget, clock=clock) / 2
            measured.append((shape, dtype, seconds))
            step()
    return measured


def predict(costs: CostModel, shape, dtype) -> float:
    """`CostModel.fft_seconds` of one transform of ``shape`` and ``dtype``."""
    dt = np.dtype(dtype)
    return costs.fft_seconds(math.prod(shape), dt.itemsize, dt.kind != "c", precision(dt), rank=len(shape))


def fit_transforms(old: CostModel, measured: list[tuple[tuple[int, ...], str, float]]) -> CostModel:
    """``old`` with the transform coefficients fitted to ``measured`` (see the module)."""
    unit = dataclasses.replace(old, fft_point_log=1.0, fft_point=0.0, fft_out_of_cache=1.0,
                               single_factor=1.0, complex_factor=1.0, fft_rank3_factor=1.0)

    def nbytes(s, d) -> int:  # what the cost model's cache factor looks at
        dt = np.dtype(d)
        return math.prod(s) * dt.itemsize * (1 if dt.kind != "c" else 2)

    def in_cache(s, d) -> bool:
        return nbytes(s, d) <= old.cache_bytes / 4

    def plain(s, d) -> bool:  # real double in-cache 1-D or 2-D transforms
        return d == "float64" and in_cache(s, d) and len(s) <= 2

    def power_of_two(s) -> bool:
        n = math.prod(s)
        return n & (n - 1) == 0

    base = [(math.prod(s), t) for s, d, t in measured if plain(s, d) and power_of_two(s)]
    A = np.array([[math.log2(n), 1.0] for n, _ in base])
    y = np.array([t / n for n, t in base])
    (a, b), _ = scipy.optimize.nnls(A / y[:, None], np.ones(len(y)))  # relative errors
    model = dataclasses.replace(unit, fft_point_log=max(a, 1e-13), fft_point=b)
    model = _fit_radices(model, [(s, d, t) for s, d, t in measured if plain(s, d) and not power_of_two(s)])

    def ratios(select) -> list[float]:
        return [t / predict(model, s, d) for s, d, t in measured if select(s, d)]

    rank3 = ratios(lambda s, d: d == "float64" and in_cache(s, d) and len(s) >= 3)
    model = dataclasses.replace(model, fft_rank3_factor=statistics.median(rank3) if rank3 else 1.0)
    out = ratios(lambda s, d: d == "float64" and nbytes(s, d) >= old.cache_bytes)
    single = ratios(lambda s, d: d == "float32" and in_cache(s, d))
    cplx = ratios(lambda s, d: d == "complex128" and in_cache(s, d))
    return dataclasses.replace(
        old, fft_point_log=model.fft_point_log, fft_point=model.fft_point,
        radix3=model.radix3, radix5=model.radix5, radix7=model.radix7,
        fft_rank3_factor=model.fft_rank3_factor,
        fft_out_of_cache=statistics.median(out) if out else old.fft_out_of_cache,
        single_factor=statistics.median(single) if single else old.single_factor,
        complex_factor=statistics.median(cplx) if cplx else old.complex_factor,
    )


def _fit_radices(model: CostModel, odd: list[tuple[tuple[int, ...], str, float]]) -> CostModel:
    """The radix weights jointly (a length's excess cost is shared by its radices): the grid
    point with the least squared log error over the lengths with odd factors."""
    if not odd:
        return model

    def error(weights) -> float:
        m = dataclasses.replace(model, radix3=weights[0], radix5=weights[1], radix7=weights[2])
        return sum(math.log(predict(m, s, d) / t) ** 2 for s, d, t in odd)

    best = min(itertools.product(RADIX_GRID, repeat=3), key=error)
    return dataclasses.replace(model, radix3=best[0], radix5=best[1], radix7=best[2])


def log_error(costs: CostModel, measured) -> float:
    """Median ``|log(predicted / measured)|`` of the transforms."""
    return statistics.median(abs(math.log(predict(costs, s, d) / t)) for s, d, t in measured)
