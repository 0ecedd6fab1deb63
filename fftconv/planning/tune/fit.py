"""Fitting coefficients through the executors' own estimates.

Every coefficient ``fftconv tune`` fits this way enters its executor's estimate linearly (on
one thread), so a group of coefficients scaled by one factor ``s`` predicts
``base + s * feature``: ``base`` is the estimate with the group (and the other groups fitted
together) at zero, ``feature`` what the group adds at its current values. Nothing here
restates an executor's formula: the features are differences of its ``estimate``.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence

import numpy as np
import scipy.optimize

from ..costs import DEFAULT_COSTS, CostModel
from .measure import Measurement

#: Smallest value each fitted coefficient may take: the configuration requires positive
#: values for most, and a least-squares fit may drive a term that explains little to zero.
FLOORS = {"copy_point": 1e-11, "copy_point_cached": 1e-12, "tile_overhead": 1e-7, "call_overhead": 1e-6,
          "direct_overhead": 1e-6, "window_point": 1e-10, "window_mac": 1e-11,
          "direct_mac_1d": 1e-13, "direct_out_1d": 1e-10, "direct_generic": 1.0, "compiled_mac": 1e-13,
          "compiled_point": 1e-12, "compiled_call": 1e-7, "compiled_load": 1e-14,
          "compiled_load_l2": 1e-14, "compiled_stream": 1e-13}


def fit_groups(measurements: Sequence[Measurement], costs: CostModel,
               groups: Sequence[tuple[str, ...]]) -> CostModel:
    """``costs`` with each group of coefficients scaled to match ``measurements``: one group
    by the median of the per-measurement scales (robust to an outlier), several jointly by
    non-negative least squares on relative errors.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.planning.tune.measure import time_executor
    >>> m = [time_executor("direct.numpy", np.ones(4000), np.ones(31), "full", 0.001, DEFAULT_COSTS)]
    >>> fit_groups(m, DEFAULT_COSTS, [("direct_mac_1d",)]).direct_mac_1d > 0
    True
    """
    names = [n for group in groups for n in group]
    unit = {n: getattr(costs, n) or getattr(DEFAULT_COSTS, n) for n in names}  # proportions in a group
    zero = dataclasses.replace(costs, **{n: 0.0 for n in names})
    base = np.array([m.predict(zero) for m in measurements])
    features = np.array([[m.predict(dataclasses.replace(zero, **{n: unit[n] for n in g})) - b for g in groups]
                         for m, b in zip(measurements, base)])
    measured = np.array([m.seconds for m in measurements])
    if len(groups) == 1:
        scales = [statistics.median((measured - base) / features[:, 0])]
    else:
        weights = 1.0 / measured  # relative errors matter
        scales, _ = scipy.optimize.nnls(features * weights[:, None], (measured - base) * weights)
    fitted = {n: max(unit[n] * float(s), FLOORS.get(n, 0.0)) for g, s in zip(groups, scales) for n in g}
    return dataclasses.replace(costs, **fitted)


def log_error(measurements: Sequence[Measurement], costs: CostModel) -> float:
    """Median ``|log(predicted / measured)|`` (0.10 is about 10 %).

    Examples
    --------
    >>> from fftconv.core.problem import Spec
    >>> log_error([Measurement("fft", Spec.of_shapes((64,), (3,)), 1.0)], DEFAULT_COSTS) > 1
    True
    """
    return statistics.median(abs(math.log(m.predict(costs) / m.seconds)) for m in measurements)
