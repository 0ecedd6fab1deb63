"""How a layer is computed: the registered layer methods (`fftconv.nn.methods`: the direct
path, Winograd's F(2x2, 3x3), the spectral path, or a plug-in) each price the layer, and the
cheapest whose workspace fits ``[memory] limit`` wins (or the one ``method=`` names).

Estimates use the core's cost model for transforms and copies (calibrated on this CPU at
first use, see `fftconv.planning.calibrate`) and this machine's BLAS rates (`fftconv.nn.rates`;
built-in ones while they are measured in the background). Plans priced before either was
measured are made again once it is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from .. import config
from ..core.memory import available_bytes
from ..planning.calibrate import costs_for
from ..planning.calibrate import generation as calibration_generation
from ..planning.costs import precision
from ..planning.plan import COSTS_SOURCES, MemoryLimitError, format_bytes, format_seconds
from .methods import Layer, LayerCosts, generation, get_layer_method, layer_method_names, layer_methods
from .rates import blas_rates
from .rates import generation as rates_generation


def methods() -> tuple[str, ...]:
    """Every ``method=`` a layer takes: 'auto', then the registered layer methods.

    Examples
    --------
    >>> methods()[:2]
    ('auto', 'direct')
    """
    return ("auto", *layer_method_names())


@dataclass(frozen=True)
class LayerPlan:
    """The plan of one layer call.

    Attributes
    ----------
    method : str
        The layer method that runs it ('direct': matrix products over taps; 'winograd':
        F(2x2, 3x3) for 3x3 kernels at stride 1; 'fft': frequency-domain channel sums; or a
        plug-in's name).
    layout : object
        What the method runs with (the spectral path's `fftconv.nn.spectral.SpectralLayout`, the direct path's
        block bytes).
    estimates : dict
        Estimated seconds of each candidate that was priced, by description.
    """

    layer: Layer
    method: str
    layout: object
    reason: str
    estimates: dict[str, float] = field(compare=False, hash=False)
    workspace: int = 0
    costs_source: str = "built-in"
    #: whether the BLAS rates it was priced with were measured on this machine (else built in)
    rates_measured: bool = True

    input_shape = property(lambda self: self.layer.input_shape)
    weight_shape = property(lambda self: self.layer.weight_shape)
    stride = property(lambda self: self.layer.stride)
    dilation = property(lambda self: self.layer.dilation)
    groups = property(lambda self: self.layer.groups)
    dtype = property(lambda self: self.layer.dtype)
    threads = property(lambda self: self.layer.threads)
    output_shape = property(lambda self: self.layer.output_shape, doc="(N, C_out, spatial...) of the result.")

    @property
    def fft_shape(self) -> tuple[int, ...] | None:
        """FFT lengths of the spatial axes, for methods that transform."""
        return getattr(self.layout, "fft_shape", None)

    @property
    def tiles(self) -> int:
        """Overlap-save tiles (1: one whole-array FFT; 0 for methods without transforms)."""
        return getattr(self.layout, "tiles", 0)

    @property
    def tiles_per_batch(self) -> int:
        """Tiles transformed together."""
        return getattr(self.layout, "tiles_per_batch", 0)

    def explain(self) -> str:
        """The choice in plain words.

        Examples
        --------
        >>> p = plan_layer((1, 64, 286, 286), (64, 64, 31, 31), threads=1, dtype="float32")
        >>> print(p.explain())  # doctest: +ELLIPSIS
        layer: input (1, 64, 286, 286) (padded), weight (64, 64, 31, 31), ...
        """
        lines = [
            f"layer: input {self.input_shape} (padded), weight {self.weight_shape}, stride {self.stride}, "
            f"dilation {self.dilation}, groups {self.groups}: output {self.output_shape}, computing in "
            f"{self.dtype} on {self.threads} thread(s)",
            get_layer_method(self.method).describe(self.layer, self.layout),
            f"why: {self.reason}; workspace {format_bytes(self.workspace)}",
            f"cost coefficients: {COSTS_SOURCES.get(self.costs_source, self.costs_source)}; BLAS rates: "
            + ("measured on this machine" if self.rates_measured
               else "built-in, while this machine's are measured in the background"),
        ]
        for name, seconds in sorted(self.estimates.items(), key=lambda kv: kv[1]):
            lines.append(f"  {name:>28}: estimated {format_seconds(seconds)}")
        return "\n".join(lines)


def plan_layer(
    input_shape,
    weight_shape,
    stride=None,
    dilation=None,
    groups: int = 1,
    dtype="float32",
    threads: int = 1,
    method: str = "auto",
) -> LayerPlan:
    """The `LayerPlan` of a PyTorch-style layer on an input of ``input_shape`` (N, C_in,
    spatial..., already padded) with a weight of ``weight_shape`` (C_out, C_in / groups,
    kernel...). ``method``: 'auto' (the lowest estimate) or a layer method's name (`methods`).

    Examples
    --------
    >>> plan_layer((1, 64, 258, 258), (64, 64, 3, 3), threads=1).method
    'winograd'
    >>> plan_layer((1, 64, 258, 258), (64, 64, 3, 3), stride=(2, 2), threads=1).method
    'direct'
    >>> plan_layer((8, 256, 32767), (256, 1, 16384), groups=256, threads=1).method
    'fft'
    """
    ndim = len(input_shape) - 2
    known = methods()
    if method not in known:
        raise ValueError(f"method must be one of {known}, got {method!r}")
    layer = Layer(tuple(input_shape), tuple(weight_shape), tuple(stride or (1,) * ndim),
                  tuple(dilation or (1,) * ndim), int(groups), np.dtype(dtype), int(threads))
    settings = config.get()
    return _plan(layer, method, settings.memory_limit, settings.backend, settings.costs_source,
                 settings.calibrate, generation(), calibration_generation(), rates_generation())


@functools.lru_cache(maxsize=256)
def _plan(layer: Layer, method: str, limit, backend, costs_source, calibrate, methods_generation,
          costs_generation, rates_generation) -> LayerPlan:
    """`plan_layer`'s work; what it depends on is in its arguments, so that the cache keys on it."""
    costs, source = costs_for(config.get())
    rates = blas_rates("single" if precision(layer.dtype) == "single" else "double", layer.threads)
    budget = limit if limit is not None else (available_bytes() or 1 << 62) // 2
    priced = LayerCosts(costs, rates, budget)
    found, estimates = {}, {}
    for candidate in layer_methods():
        if method not in ("auto", candidate.name) or not candidate.applies(layer):
            continue
        estimate = candidate.estimate(layer, priced)
        if estimate is not None and estimate.workspace <= budget:
            found[candidate.name] = estimate
            estimates.update(estimate.priced or {candidate.name: estimate.seconds})
    if method != "auto" and method not in found:
        chosen = get_layer_method(method)
        if chosen.applies(layer):
            raise MemoryLimitError(f"method={method!r} does not fit this layer in the {format_bytes(budget)} "
                                   "allowed at any layout; raise [memory] limit")
        raise ValueError(f"method={method!r} does not apply to this layer: it needs {chosen.requirement}")
    name = method if method != "auto" else min(found, key=lambda n: found[n].seconds)
    reason = f"forced (method={method!r})" if method != "auto" else "the lowest estimate"
    return LayerPlan(layer, name, found[name].layout, reason, estimates, found[name].workspace, source,
                     rates.measured)
