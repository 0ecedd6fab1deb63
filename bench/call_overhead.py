"""Per-call time of small convolutions, where fftconv's own overhead (checks, planning lookup,
dispatch) is a large part of the call: for comparing two versions of fftconv side by side
(run this script with each one's Python, alternately) or one against scipy.

Usage: python bench/call_overhead.py [--json PATH] [--seconds S]

Each case runs for at least ``--seconds`` (after a warm-up); the median call is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

import fftconv
import fftconv.ndimage


def cases() -> dict:
    rng = np.random.default_rng(0)
    rand = rng.standard_normal
    return {
        "64x64*3x3 same": (lambda a, b: fftconv.convolve(a, b, "same", threads=1), rand((64, 64)),
                           rand((3, 3))),
        "64*3 full": (lambda a, b: fftconv.convolve(a, b, threads=1), rand(64), rand(3)),
        "2x2 complex conv2d": (lambda a, b: fftconv.convolve2d(a, b, threads=1), rand((2, 2)) + 1j,
                               rand((2, 2)) + 1j),
        "256x256*5x5 same f32": (lambda a, b: fftconv.convolve(a, b, "same", threads=1),
                                 rand((256, 256)).astype("f4"), rand((5, 5)).astype("f4")),
        "512x512*3x3 same": (lambda a, b: fftconv.convolve(a, b, "same", threads=1), rand((512, 512)),
                             rand((3, 3))),
        "1024*31 fft": (lambda a, b: fftconv.fftconvolve(a, b, threads=1), rand(1024), rand(31)),
        "ndimage 64x64*3x3": (lambda a, b: fftconv.ndimage.convolve(a, b, threads=1), rand((64, 64)),
                              rand((3, 3))),
        "correlate2d 32x32*4x4 symm": (lambda a, b: fftconv.correlate2d(a, b, "same", "symm", threads=1),
                                       rand((32, 32)), rand((4, 4))),
        "int 50x50*5x5": (lambda a, b: fftconv.convolve(a, b, "same", threads=1),
                          rng.integers(0, 9, (50, 50)), rng.integers(0, 9, (5, 5))),
    }


def median_call(func, a, b, seconds: float) -> float:
    for _ in range(20):
        func(a, b)
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 50:
        t0 = time.perf_counter()
        func(a, b)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    result = {name: median_call(f, a, b, args.seconds) * 1e6 for name, (f, a, b) in cases().items()}
    print(f"fftconv {fftconv.__version__} from {fftconv.__file__}")
    for name, us in result.items():
        print(f"{name:<30} {us:10.1f} us")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
