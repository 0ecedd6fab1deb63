"""Shape arithmetic for linear convolution: output windows, 'same' offsets, FFT lengths.

Everything here works on integers only, one axis at a time, so it can be tested exhaustively
against scipy. Coordinates are those of the *full* linear convolution ``y = x * h`` of an
axis of length ``n1`` with a kernel of length ``n2``: ``y`` has ``n1 + n2 - 1`` samples and
``y[m] = sum_j h[j] x[m - j]``. Every mode is a window ``[start, start + length)`` of ``y``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from .messages import shown

Mode = Literal["full", "same", "valid"]
SameConvention = Literal["signal", "centered"]

MODES: tuple[str, ...] = ("full", "same", "valid")

#: How each public function centres the 'same' window when the kernel has even length.
#: ``"signal"``: ``scipy.signal.convolve``/``correlate``/``convolve2d`` keep the window starting
#: at ``(n2 - 1) // 2``. ``"centered"``: ``scipy.signal.correlate2d``, ``scipy.ndimage`` and
#: TF/PyTorch 'SAME' put the kernel's centre at ``n2 // 2``, one sample later for even kernels.
SAME_CONVENTIONS: tuple[str, ...] = ("signal", "centered")


def check_mode(mode: object, fft_wording: bool = False) -> str:
    """Return ``mode`` if it is a valid mode name, else raise scipy's ``ValueError``, in the
    words of scipy's FFT functions (``fftconvolve``, ``oaconvolve``) with ``fft_wording``.

    Examples
    --------
    >>> check_mode("same")
    'same'
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(
            f"{'a' if fft_wording else 'A'}cceptable mode flags are 'valid', 'same', or 'full'; "
            f"got mode={shown(mode)}."
        )
    return mode


def same_start(n2: int, convention: str = "signal") -> int:
    """Offset of the 'same' window inside the full convolution.

    Examples
    --------
    >>> same_start(4), same_start(4, "centered"), same_start(5, "centered")
    (1, 2, 2)
    """
    if convention == "signal":
        return (n2 - 1) // 2
    if convention == "centered":
        return n2 // 2
    raise ValueError(f"unknown 'same' convention {convention!r}; use one of {SAME_CONVENTIONS}")


class Window(NamedTuple):
    """The part ``[start, start + length)`` of the full convolution that a mode keeps (a
    named tuple: plans and layouts are cached by windows, and tuples hash fastest)."""

    start: int
    length: int

    @property
    def stop(self) -> int:
        return self.start + self.length


def output_window(n1: int, n2: int, mode: str, convention: str = "signal") -> Window:
    """Window of the full convolution kept by ``mode`` for one axis.

    'same' keeps ``n1`` samples; 'valid' keeps the ``n1 - n2 + 1`` samples that never see
    the zero padding (``n1 >= n2`` is required here: callers swap the inputs first).

    Examples
    --------
    >>> output_window(10, 3, "full"), output_window(10, 3, "same"), output_window(10, 3, "valid")
    (Window(start=0, length=12), Window(start=1, length=10), Window(start=2, length=8))
    """
    check_mode(mode)
    if mode == "full":
        return Window(0, n1 + n2 - 1)
    if mode == "same":
        return Window(same_start(n2, convention), n1)
    if n2 > n1:
        raise ValueError("'valid' mode needs the first input at least as long as the second")
    return Window(n2 - 1, n1 - n2 + 1)


def reach(n1: int, n2: int, window: Window) -> tuple[slice, slice, Window]:
    """The samples of the input and the taps of the kernel that ``window``'s outputs involve,
    and the window in the coordinates of their (smaller) full convolution.

    Output ``m`` sums ``x[i] h[m - i]``; over the window that needs ``i`` and ``j = m - i`` no
    further than ``window.stop - 1`` and no nearer than ``window.start`` minus the other's
    length. Only a 'same' window of a kernel longer than the input leaves some out: the kernel
    is then cut to about twice the input's length, whatever its own.

    Examples
    --------
    >>> reach(3, 100, output_window(3, 100, "same"))
    (slice(0, 3, None), slice(47, 52, None), Window(start=2, length=3))
    >>> reach(10, 3, output_window(10, 3, "full"))
    (slice(0, 10, None), slice(0, 3, None), Window(start=0, length=12))
    """
    i_lo, i_hi = max(0, window.start - n2 + 1), min(n1, window.stop)
    j_lo, j_hi = max(0, window.start - n1 + 1), min(n2, window.stop)
    return slice(i_lo, i_hi), slice(j_lo, j_hi), Window(window.start - i_lo - j_lo, window.length)


def window_reads(n2: int, window: Window) -> tuple[int, int]:
    """The input coordinates ``[start, stop)`` that ``window``'s outputs read with a kernel of
    length ``n2`` (output ``i`` of the window reads ``start + i .. start + i + n2 - 1``; those
    outside the input are its zero extension).

    Examples
    --------
    >>> window_reads(3, output_window(5, 3, "same"))
    (-1, 6)
    """
    return window.start - n2 + 1, window.stop


def zero_extension(n1: int, n2: int, window: Window) -> tuple[int, slice, slice]:
    """How a direct sum sees one axis of the input: the length of the zero-extended input that
    ``window``'s outputs read (``window.length + n2 - 1``), the input samples inside it, and
    where they go. Output ``i`` of the window then reads extended samples ``i .. i + n2 - 1``.

    Examples
    --------
    >>> zero_extension(5, 3, output_window(5, 3, "full"))
    (9, slice(0, 5, None), slice(2, 7, None))
    """
    lo, hi = window_reads(n2, window)
    src = slice(max(lo, 0), min(hi, n1))
    return window.length + n2 - 1, src, slice(src.start - lo, src.stop - lo)


def min_circular_length(n1: int, n2: int, window: Window) -> int:
    """Shortest circular (FFT) length whose output equals the linear one on ``window``.

    With the input at offset 0 and zeros after it, circular output ``c[m]`` equals ``y[m]``
    when no input index ``m - j`` wraps onto a non-zero sample: ``N >= n1 + n2 - 1 - start``
    (the wrap of negative indices lands in the zero tail) and ``N >= stop``; the kernel must
    fit too (``N >= n2``), which only binds in 'same' mode with a kernel longer than the input.
    'full' needs ``n1 + n2 - 1``, 'same' ``n1 + n2 // 2`` (signal convention), 'valid' only ``n1``.

    Examples
    --------
    >>> [min_circular_length(100, 31, output_window(100, 31, m)) for m in ("full", "same", "valid")]
    [130, 115, 100]
    """
    return max(n1 + n2 - 1 - window.start, window.stop, n2)


@dataclass(frozen=True)
class Segment:
    """One tile along one axis: what to read from the input and where the result goes.

    The buffer of length ``fft_length`` receives ``x[in_start:in_stop]`` at ``buf_offset``
    (zeros elsewhere). After the circular convolution, ``buf[res_offset:res_offset + count]``
    is written to ``out[out_offset:out_offset + count]``.
    """

    in_start: int
    in_stop: int
    buf_offset: int
    res_offset: int
    out_offset: int
    count: int


def whole_axis_segments(n1: int, n2: int, window: Window) -> tuple[Segment, ...]:
    """The single segment of a whole-axis circular convolution (see `min_circular_length`).

    Examples
    --------
    >>> whole_axis_segments(10, 3, output_window(10, 3, "same"))
    (Segment(in_start=0, in_stop=10, buf_offset=0, res_offset=1, out_offset=0, count=10),)
    """
    return (Segment(0, n1, 0, window.start, 0, window.length),)


def overlap_save_segments(
    n1: int, n2: int, window: Window, fft_length: int
) -> tuple[Segment, ...]:
    """Overlap-save tiles along one axis: each tile yields ``fft_length - n2 + 1`` outputs.

    A tile producing outputs ``[m0, m0 + b)`` reads the input ``[m0 - n2 + 1, m0 + b)``;
    its first ``n2 - 1`` circular outputs are wrapped and discarded.

    Examples
    --------
    >>> [s.count for s in overlap_save_segments(10, 3, output_window(10, 3, "full"), 8)]
    [6, 6]
    """
    block = fft_length - n2 + 1
    if block < 1:
        raise ValueError(f"FFT length {fft_length} is shorter than the kernel ({n2})")
    segments = []
    for out_offset in range(0, window.length, block):
        count = min(block, window.length - out_offset)
        m0 = window.start + out_offset
        lo = m0 - n2 + 1
        in_start, in_stop = max(lo, 0), min(m0 + count, n1)
        if in_stop <= in_start:  # the whole tile reads zeros; its outputs are zero
            in_start = in_stop = max(min(lo, n1), 0)
        segments.append(
            Segment(in_start, in_stop, in_start - lo, n2 - 1, out_offset, count)
        )
    return tuple(segments)


def valid_swap_needed(shape1: tuple[int, ...], shape2: tuple[int, ...], axes) -> bool:
    """scipy's rule for 'valid' mode: swap when the second input is the larger everywhere.

    Raises ``ValueError`` when neither input is at least as large as the other on every axis.

    Examples
    --------
    >>> valid_swap_needed((3, 3), (5, 5), (0, 1))
    True
    """
    ok1 = all(shape1[a] >= shape2[a] for a in axes)
    ok2 = all(shape2[a] >= shape1[a] for a in axes)
    if not (ok1 or ok2):
        raise ValueError(
            "For 'valid' mode, one must be at least as large as the other in every "
            f"dimension; got shapes {tuple(shape1)} and {tuple(shape2)}."
        )
    return not ok1


def direct_macs(shape1, shape2, windows) -> int:
    """Multiply-adds of the direct sum over ``windows``: products with an existing input
    sample only (what every direct executor performs, whatever its loop). A closed form per
    axis, so planning costs the same whatever the lengths.

    Examples
    --------
    >>> direct_macs((4,), (2,), [output_window(4, 2, "full")])
    8
    >>> direct_macs((10,), (10**7,), [output_window(10, 10**7, "full")])
    100000000
    """
    total = 1
    for n1, n2, w in zip(shape1, shape2, windows):
        total *= _pairs_below(n1, n2, w.stop) - _pairs_below(n1, n2, w.start)
    return total


def _pairs_below(n1: int, n2: int, t: int) -> int:
    """How many (input sample, tap) pairs ``(i, j)`` have ``i + j < t``: the products of the
    full outputs before ``t`` (``min(s + 1, n1, n2, n1 + n2 - 1 - s)`` products at output ``s``)."""
    t = min(max(t, 0), n1 + n2 - 1)
    short, long_ = min(n1, n2), max(n1, n2)
    rising = min(t, short)  # outputs 0 .. short - 1 have 1 .. short products
    count = rising * (rising + 1) // 2
    count += short * max(0, min(t, long_) - short)  # the plateau of ``short`` products
    if t > long_:  # the falling edge: short - 1 down to n1 + n2 - t products
        count += (short - 1 + n1 + n2 - t) * (t - long_) // 2
    return count


def boundary_pad_widths(n2: int, mode: str, convention: str = "signal") -> tuple[int, int]:
    """Samples of boundary extension needed before/after the input so that a 'valid'
    convolution of the extended input yields ``mode``'s window.

    Examples
    --------
    >>> boundary_pad_widths(5, "full"), boundary_pad_widths(4, "same"), boundary_pad_widths(4, "valid")
    ((4, 4), (2, 1), (0, 0))
    """
    check_mode(mode)
    if mode == "full":
        return n2 - 1, n2 - 1
    if mode == "same":
        before = n2 - 1 - same_start(n2, convention)
        return before, n2 - 1 - before
    return 0, 0
