"""FFT lengths that FFTW transforms fast.

Measured on this project's machines, FFTW is quickest on 2·3·5-smooth lengths and on those
times one factor 7 (4200 = 2³·3·5²·7 transforms as fast as 4320, 4116 = 2²·3·7³ 15 % slower);
repeated 7s, 11 and 13 (which FFTW supports) cost 10–50 % more, large primes far more.
Deep powers of 3 and 5 are slow too (4374 = 2·3⁷ costs 1.8x 4096 per point, 6250 = 2·5⁵
1.3x the model), so at most 3⁴ and 5⁴ are allowed.
The last axis of a real transform is kept even so the half-spectrum has no odd tail.
"""

from __future__ import annotations

import bisect
from functools import lru_cache

#: Lengths are tabulated below 2**31: FFTW's plans take ``int`` lengths.
_LIMIT = 1 << 31
#: Highest power of 3 and of 5 allowed in a fast length (see the module docstring).
MAX_POWER_3_5 = 4
#: A whole-array transform may take fast lengths up to this factor over the shortest one of an
#: axis ...
LENGTH_SPAN = 1.25
#: ... where the cost model estimates the longer shape at most this fraction of the shortest's
#: cost (`fftconv.executors.spectral.cheapest_fft_shape`).
LENGTH_GAIN = 0.85


@lru_cache(maxsize=1)
def _smooth_numbers() -> tuple[int, ...]:
    values = []
    p2 = 1
    while p2 < _LIMIT:
        for e3 in range(MAX_POWER_3_5 + 1):
            for e5 in range(MAX_POWER_3_5 + 1):
                n = p2 * 3**e3 * 5**e5
                if n < _LIMIT:
                    values.append(n)
                if n * 7 < _LIMIT:
                    values.append(n * 7)
        p2 *= 2
    return tuple(sorted(set(values)))


_smooth_numbers()  # with the import: 0.3 ms a process's first FFT plan would otherwise pay


def next_fast_length(n: int, even: bool = False) -> int:
    """Smallest fast length ``>= n`` (2^a·3^b·5^c with b, c <= 4, times at most one 7; even
    if ``even``).

    Examples
    --------
    >>> next_fast_length(4111), next_fast_length(97), next_fast_length(11, even=True)
    (4200, 100, 12)
    """
    if n < 1:
        raise ValueError(f"an FFT length must be positive, got {n}")
    if n >= _LIMIT:
        raise ValueError(f"FFT length {n} is too large")
    numbers = _smooth_numbers()
    i = bisect.bisect_left(numbers, n)
    while even and numbers[i] % 2:
        i += 1
    return numbers[i]


def fast_lengths_between(lo: int, hi: int, even: bool = False) -> list[int]:
    """All fast lengths in ``[lo, hi]``, ascending (candidates for tile sizes).

    Examples
    --------
    >>> fast_lengths_between(60, 80)
    [60, 63, 64, 70, 72, 75, 80]
    """
    numbers = _smooth_numbers()
    i = bisect.bisect_left(numbers, lo)
    j = bisect.bisect_right(numbers, hi)
    return [v for v in numbers[i:j] if not even or v % 2 == 0]
