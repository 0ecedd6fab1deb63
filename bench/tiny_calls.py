"""Tiny calls, fftconv beside scipy: time ratio and exactness, side by side in one run.

Usage: python bench/tiny_calls.py [--json PATH] [--rounds N]

Every public function on 1-D (up to 4,096 samples), 2-D (up to 64x64) and 3-D (up to 16^3)
problems, float64, float32, int64 and complex128, integer-valued inputs: each case times fftconv and
the same scipy function alternately (blocks of calls, medians of the rounds, 1 thread) once
fftconv's calls of the case have settled (`fftconv.timing.settle`: a signature whose estimates
are too close to call times its contenders on its first repeated calls; first calls are the
``first-calls`` suite's), and checks fftconv's answers against scipy's direct sum: the settled
calls' exactly for the direct functions (``convolve``, ``correlate``, the 2-D and ndimage ones),
within float rounding for ``fftconvolve``/``oaconvolve`` (FFTs by definition); the first
call's within float rounding for every function (with ``method='auto'`` a signature's first
calls of ``convolve``, ``correlate`` and the 2-D functions may take NumPy's transforms where
they are quicker than the pipeline's start, `fftconv.engine.tiny.first_nd_fft`, as scipy's
``convolve`` may choose its FFT). The target: at most 1.5x scipy's time.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
import warnings

import numpy as np
import scipy.ndimage
import scipy.signal

import fftconv
import fftconv.ndimage
from fftconv.cli.bench import machine_info, report_summary
from fftconv.timing import settle

SHAPES = {
    1: [((8,), (3,)), ((64,), (8,)), ((512,), (31,)), ((2000,), (33,)), ((4096,), (31,)), ((4096,), (3,))],
    2: [((4, 4), (2, 2)), ((16, 16), (3, 3)), ((64, 64), (3, 3)), ((64, 64), (5, 5))],
    3: [((4, 4, 4), (2, 2, 2)), ((3, 5, 4), (2, 2, 3)), ((8, 8, 8), (3, 3, 3)), ((16, 16, 16), (3, 3, 3))],
}
DTYPES = ["float64", "float32", "int64", "complex128"]


def functions(ndim: int, dtype: str):
    """(name, fftconv's call, scipy's call) for one kind of problem."""
    def signal(name):
        ours, theirs = getattr(fftconv, name), getattr(scipy.signal, name)
        return (name, (lambda a, b: ours(a, b, "same", threads=1)),
                (lambda a, b: theirs(a, b, "same")))

    yield signal("convolve")
    yield signal("correlate")
    if dtype != "int64":  # scipy's FFT functions make integer inputs float
        yield signal("fftconvolve")
        yield signal("oaconvolve")
    if ndim == 2:
        for name in ("convolve2d", "correlate2d"):
            ours, theirs = getattr(fftconv, name), getattr(scipy.signal, name)
            yield name, (lambda a, b, f=ours: f(a, b, "same", "symm", threads=1)), \
                (lambda a, b, f=theirs: f(a, b, "same", "symm"))
    if dtype == "float64":
        for name in ("convolve", "correlate"):
            ours, theirs = getattr(fftconv.ndimage, name), getattr(scipy.ndimage, name)
            yield f"ndimage.{name}", (lambda a, b, f=ours: f(a, b, mode="mirror", threads=1)), \
                (lambda a, b, f=theirs: f(a, b, mode="mirror"))


def block_time(func, a, b, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        func(a, b)
    return (time.perf_counter() - start) / calls


def direct_answer(name: str, a, b):
    """scipy's direct sum for what ``name`` computes."""
    if name in ("fftconvolve", "oaconvolve"):
        return scipy.signal.convolve(a, b, "same", method="direct")
    if name in ("convolve", "correlate"):
        return getattr(scipy.signal, name)(a, b, "same", method="direct")
    return None  # the 2-D and ndimage functions are direct sums themselves


def exact_answer(name: str, got, want, first: bool = False) -> bool:
    """Whether ``got`` is ``want`` as the function promises it: to the bit for the direct
    functions' settled calls, within float rounding for the FFT ones and for first calls."""
    if first or name in ("fftconvolve", "oaconvolve"):  # FFTs: within rounding, in their own dtype
        if got.shape != want.shape or (first and got.dtype != want.dtype):
            return False
        scale = max(float(np.max(np.abs(want))), 1.0)
        eps = np.finfo(got.dtype if got.dtype.kind in "fc" else np.float64).eps
        return bool(np.max(np.abs(got - want)) <= 64 * eps * scale)
    return got.shape == want.shape and got.dtype == want.dtype and np.array_equal(got, want)


def run_case(name, ours, theirs, a, b, rounds: int) -> dict:
    want = direct_answer(name, a, b)
    want = theirs(a, b) if want is None else want
    exact = exact_answer(name, ours(a, b), want, first=True)  # the first call's answer...
    settle(lambda: ours(a, b))
    exact = exact and exact_answer(name, ours(a, b), want)  # ... and the settled calls'
    once = block_time(theirs, a, b, 3)
    calls = max(1, min(200, int(2e-3 / max(once, 1e-7))))  # blocks of about 2 ms
    times = {"fftconv": [], "scipy": []}
    for r in range(rounds):
        order = (("fftconv", ours), ("scipy", theirs)) if r % 2 else (("scipy", theirs), ("fftconv", ours))
        for label, func in order:
            times[label].append(block_time(func, a, b, calls))
    ours_s, theirs_s = statistics.median(times["fftconv"]), statistics.median(times["scipy"])
    return {"function": name, "shapes": f"{a.shape} * {b.shape}", "dtype": str(a.dtype), "exact": exact,
            "fftconv_us": ours_s * 1e6, "scipy_us": theirs_s * 1e6, "ratio": ours_s / theirs_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    machine = machine_info(1)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    rng = np.random.default_rng(0)
    rows = []
    print(f"{'function':<20} {'shapes':<26} {'dtype':<11} {'fftconv':>9} {'scipy':>9} {'ratio':>6} exact")
    for ndim, dtype in itertools.product(SHAPES, DTYPES):
        for s1, s2 in SHAPES[ndim]:
            a = rng.integers(-9, 10, s1).astype(dtype)
            b = rng.integers(-3, 4, s2).astype(dtype)
            if dtype == "complex128":
                a = a + 1j * rng.integers(-9, 10, s1)
                b = b - 1j * rng.integers(-3, 4, s2)
            for name, ours, theirs in functions(ndim, dtype):
                row = run_case(name, ours, theirs, a, b, args.rounds)
                rows.append(row)
                print(f"{row['function']:<20} {row['shapes']:<26} {row['dtype']:<11} "
                      f"{row['fftconv_us']:>7.1f}us {row['scipy_us']:>7.1f}us {row['ratio']:>5.2f}x "
                      f"{row['exact']}", flush=True)
    ratios = [r["ratio"] for r in rows]
    summary = {
        "cases": len(rows), "ratio_median": statistics.median(ratios), "ratio_max": max(ratios),
        "cases_over_1.5x": sum(r > 1.5 for r in ratios), "inexact_cases": sum(not r["exact"] for r in rows),
        "over_1.5x": sorted({r["function"] for r in rows if r["ratio"] > 1.5}),
    }
    report_summary(summary, machine, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
