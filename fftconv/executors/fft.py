"""The 'fft' executor: one whole-array transform at the shortest fast length the mode allows."""

from __future__ import annotations

from ..core.problem import Spec
from ..planning.costs import CostModel
from .base import Estimate
from .spectral import SpectralExecutor


class WholeArrayFFT(SpectralExecutor):
    """Convolution theorem on the whole array: one tile (see `fftconv.executors.spectral`).

    Examples
    --------
    >>> from fftconv.core.problem import Spec
    >>> from fftconv.planning.costs import DEFAULT_COSTS
    >>> WholeArrayFFT().estimate(Spec.of_shapes((100,), (31,), "same"), DEFAULT_COSTS, None).layout
    FFTLayout(fft_shape=(120,), tiled_axes=(False,), tiles=1)
    """

    name = "fft"
    method = "fft"

    def estimate(self, spec: Spec, costs: CostModel, memory_limit: int | None) -> Estimate:
        return self.layout_estimate(spec, self.whole_layout(spec, costs), costs)
