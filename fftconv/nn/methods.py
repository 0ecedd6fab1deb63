"""The layer-method protocol: how a way of computing a layer plugs into the layer planner.

The twin of `fftconv.executors.base` for deep-learning layers. A layer is C_in x C_out
correlations that must share their transforms and copies, so its methods price and run whole
layers: each is one module with a `LayerMethod` subclass (`fftconv.nn.direct`,
`fftconv.nn.winograd`, `fftconv.nn.spectral`), registered here under its ``method=`` name.
The planner (`fftconv.nn.planner`) asks every registered method that applies for its
estimate and keeps the cheapest whose workspace fits; nothing in the planner knows a
method's internals, so a new method (a fused transposed layer, channel blocking, a GPU path)
is one module and one `register_layer_method` call.

Examples
--------
>>> "direct" in layer_method_names() and "fft" in layer_method_names()
True
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ..planning.costs import CostModel
from ..plugins import Registry


@dataclass(frozen=True)
class Layer:
    """One layer problem: the padded input's shape (N, C_in, spatial...), the weight's (C_out,
    C_in / groups, kernel...), stride, dilation, groups, the compute dtype and threads.

    Examples
    --------
    >>> layer = Layer((1, 2, 5, 5), (3, 2, 3, 3), (1, 1), (1, 1), 1, np.dtype("float32"), 1)
    >>> layer.output_shape, layer.macs
    ((1, 3, 3, 3), 486)
    """

    input_shape: tuple[int, ...]
    weight_shape: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    dtype: np.dtype
    threads: int

    @functools.cached_property
    def kernel(self) -> tuple[int, ...]:
        return self.weight_shape[2:]

    @functools.cached_property
    def spans(self) -> tuple[int, ...]:
        """Each spatial axis' dilated kernel extent."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    @functools.cached_property
    def full(self) -> tuple[int, ...]:
        """The stride-1 output lengths."""
        return tuple(s - k + 1 for s, k in zip(self.input_shape[2:], self.spans))

    @functools.cached_property
    def out(self) -> tuple[int, ...]:
        """The (strided) output lengths."""
        return tuple((f - 1) // st + 1 for f, st in zip(self.full, self.stride))

    @property
    def output_shape(self) -> tuple[int, ...]:
        """(N, C_out, spatial...) of the result."""
        return (self.input_shape[0], self.weight_shape[0]) + self.out

    @property
    def complex_data(self) -> bool:
        return self.dtype.kind == "c"

    @functools.cached_property
    def macs(self) -> int:
        """Real multiply-adds of the direct sum."""
        outputs = self.input_shape[0] * math.prod(self.out)
        return outputs * self.weight_shape[0] * self.weight_shape[1] * math.prod(self.kernel) * (
            4 if self.complex_data else 1)

    @functools.cached_property
    def columns(self) -> int:
        """Values of every tap's copy of the input (the direct path's copies)."""
        return self.input_shape[0] * self.input_shape[1] * math.prod(self.kernel) * math.prod(self.out)


@dataclass(frozen=True)
class LayerCosts:
    """What methods price a layer with: the cost model's coefficients, this process' BLAS
    rates (`fftconv.nn.rates`) and the bytes of working memory allowed."""

    costs: CostModel
    rates: object
    budget: int


@dataclass(frozen=True)
class LayerEstimate:
    """A method's price for a layer: seconds, working memory, its layout (what ``LayerMethod.run`` needs:
    tile shapes, block sizes) and the candidates it priced, by label, for ``LayerPlan.explain()``."""

    seconds: float
    workspace: int
    layout: object = None
    priced: dict[str, float] = field(default_factory=dict, compare=False)


class LayerMethod:
    """One way of computing a layer (subclass it and register the instance).

    ``name`` is the ``method=`` name; ``requirement`` says, for errors, what a layer needs
    for the method to apply.
    """

    name = ""
    requirement = ""

    def applies(self, layer: Layer) -> bool:
        """Whether this method can compute ``layer`` at all (shapes, strides, dtype)."""
        raise NotImplementedError

    def estimate(self, layer: Layer, priced: LayerCosts) -> LayerEstimate | None:
        """Seconds and workspace of the method's fastest layout within ``priced.budget``;
        None when no layout fits."""
        raise NotImplementedError

    def describe(self, layer: Layer, layout: object) -> str:
        """The "chosen:" line of `LayerPlan.explain`."""
        return f"chosen: {self.name}"

    def run(self, x: np.ndarray, w: np.ndarray, layer: Layer, layout: object) -> np.ndarray:
        """The layer's output (N, C_out, spatial...) for padded ``x`` and weight ``w``."""
        raise NotImplementedError


_methods: Registry[LayerMethod] = Registry("layer method")


def register_layer_method(method: LayerMethod) -> LayerMethod:
    """Make ``method`` one the layer planner considers and ``method=`` names."""
    return _methods.add(method.name, method)


def unregister_layer_method(name: str) -> None:
    """Remove the layer method called ``name``."""
    _methods.remove(name)


def get_layer_method(name: str) -> LayerMethod:
    """The layer method called ``name``."""
    return _methods.get(name, ValueError)


def layer_methods() -> list[LayerMethod]:
    """The registered layer methods, in registration order."""
    return [_methods.get(name, ValueError) for name in _methods.names()]


def layer_method_names() -> tuple[str, ...]:
    """The names ``method=`` takes besides 'auto'."""
    return _methods.names()


def generation() -> int:
    """Changes whenever a layer method is added or removed (cached plans key on it)."""
    return _methods.generation
