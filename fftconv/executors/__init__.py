"""Executors: the ways of computing a convolution, as plug-ins of one protocol.

``base`` defines the protocol (`Executor`, `Estimate`, `NonFiniteInput`) and ``registry`` the
registered executors and the method names derived from them. The built-in executors,
registered here in this order (which also breaks ties between equal estimates):

=================== ========= ==========================================================
executor            method    what it runs
=================== ========= ==========================================================
direct.compiled     direct    a vectorised C loop (float32/float64/int64, complex by parts)
direct.box          direct    running sums for a box kernel along one axis (uniform filters)
direct.numpy        direct    ``np.convolve`` (1-D)
direct.rows         direct    kernel rows over the flattened image (``np.correlate``)
direct.ndimage      direct    scipy.ndimage's compiled loop
direct.windows      direct    one einsum over sliding windows, every dtype (small problems)
direct.shift_add    direct    a blocked shift-and-add for every dtype (exact integers)
fft                 fft       one whole-array transform
tiled               tiled     overlap-save tiles
tiled.few           tiled     overlap-save in at most 3 tiles an axis (timed beside ``tiled``)
separable.compiled  separable one compiled direct pass per axis for rank-1 kernels
separable           separable one banded-matrix pass per axis for rank-1 kernels
=================== ========= ==========================================================

Register another with ``fftconv.executors.register(MyExecutor())``.
"""

from . import registry
from .base import Estimate, Executor, NonFiniteInput
from .direct_box import RunningSums
from .direct_compiled import CompiledLoop
from .direct_ndimage import NdimageLoop
from .direct_numpy import NumpyConvolve
from .direct_rows import KernelRows
from .direct_shift_add import ShiftAndAdd
from .direct_windows import WindowSums
from .fft import WholeArrayFFT
from .separable import SeparablePasses
from .separable_loops import SeparableLoops
from .tiled import FewTiles, OverlapSaveTiles

register = registry.register
unregister = registry.unregister

for _executor in (CompiledLoop(), RunningSums(), NumpyConvolve(), KernelRows(), NdimageLoop(), WindowSums(),
                  ShiftAndAdd(), WholeArrayFFT(), OverlapSaveTiles(), FewTiles(), SeparableLoops(),
                  SeparablePasses()):
    register(_executor)

__all__ = ["Estimate", "Executor", "NonFiniteInput", "register", "registry", "unregister"]
