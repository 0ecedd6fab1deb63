"""Everyday loops whose shapes change: each call a new image shape, fftconv beside scipy.

Usage: python bench/changing_shapes.py [--calls N] [--seed S] [--threads T] [--json PATH]

A script that filters a folder of images of different sizes, or the tiles of a scene cut at
its edges, meets a new shape on almost every call: fftconv plans each one (what a repeated
shape skips), scipy has nothing to plan. Each case draws ``--calls`` distinct shapes from the
range of everyday sizes and calls fftconv and scipy on the same arrays, alternating which goes
first; it reports the mean time of a call for each and the ratio of the totals (scipy's
time over fftconv's: above 1, fftconv is faster), and the same ratio for one shape repeated
once its calls have settled (trials decided, FFTs measured).
"""

from __future__ import annotations

import argparse
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

NDIMAGE = (fftconv.ndimage.correlate, scipy.ndimage.correlate)

#: (label, rank, (smallest, largest) length, kernel shape, dtype, fftconv's call, scipy's call)
CASES = [
    ("convolve same", 2, (150, 400), (3, 3), "float32", fftconv.convolve, scipy.signal.convolve),
    ("convolve same", 2, (150, 400), (5, 5), "float32", fftconv.convolve, scipy.signal.convolve),
    ("convolve same", 2, (150, 400), (9, 9), "float64", fftconv.convolve, scipy.signal.convolve),
    ("convolve same", 2, (150, 400), (15, 15), "float32", fftconv.convolve, scipy.signal.convolve),
    ("convolve same", 2, (150, 400), (31, 31), "float64", fftconv.convolve, scipy.signal.convolve),
    ("fftconvolve same", 2, (150, 400), (15, 15), "float64", fftconv.fftconvolve, scipy.signal.fftconvolve),
    ("ndimage.correlate", 2, (150, 400), (3, 3), "float32", *NDIMAGE),
    ("ndimage.correlate", 2, (150, 400), (7, 7), "float64", *NDIMAGE),
    ("convolve same", 1, (2_000, 60_000), (31,), "float64", fftconv.convolve, scipy.signal.convolve),
    ("convolve same", 1, (2_000, 60_000), (301,), "float32", fftconv.convolve, scipy.signal.convolve),
    ("convolve same", 3, (24, 64), (5, 5, 5), "float32", fftconv.convolve, scipy.signal.convolve),
]


def call(function, image: np.ndarray, kernel: np.ndarray, threads: int):
    if function.__module__.startswith("fftconv.ndimage"):
        return function(image, kernel, mode="reflect", threads=threads)
    if function.__module__.startswith("fftconv"):
        return function(image, kernel, "same", threads=threads)
    if function.__module__.startswith("scipy.ndimage"):
        return function(image, kernel, mode="reflect")
    return function(image, kernel, "same")


def timed(function, image, kernel, threads: int) -> float:
    start = time.perf_counter()
    call(function, image, kernel, threads)
    return time.perf_counter() - start


def run_case(case, calls: int, rng: np.random.Generator, threads: int) -> dict:
    label, rank, (lo, hi), kernel_shape, dtype, ours, theirs = case
    kernel = rng.standard_normal(kernel_shape).astype(dtype)
    shapes: set[tuple[int, ...]] = set()
    while len(shapes) < calls + 1:
        shapes.add(tuple(int(n) for n in rng.integers(lo, hi + 1, rank)))
    shapes_list = sorted(shapes, key=lambda s: rng.random())
    warm = rng.standard_normal(shapes_list.pop()).astype(dtype)
    call(ours, warm, kernel, threads)  # the process' first call is another benchmark's matter
    call(theirs, warm, kernel, threads)
    times = {"fftconv": [], "scipy": []}
    for i, shape in enumerate(shapes_list):
        image = rng.standard_normal(shape).astype(dtype)
        order = (("fftconv", ours), ("scipy", theirs)) if i % 2 else (("scipy", theirs), ("fftconv", ours))
        for name, function in order:
            times[name].append(timed(function, image, kernel, threads))
    settle(lambda: call(ours, warm, kernel, threads), 40)  # one shape, until its calls settle
    repeated = {"fftconv": [], "scipy": []}
    for i in range(max(5, calls // 4)):
        order = (("fftconv", ours), ("scipy", theirs)) if i % 2 else (("scipy", theirs), ("fftconv", ours))
        for name, function in order:
            repeated[name].append(timed(function, warm, kernel, threads))
    ratios = [s / f for f, s in zip(times["fftconv"], times["scipy"])]
    return {
        "case": f"{label} {rank}-D {lo}-{hi} * {'x'.join(map(str, kernel_shape))} {dtype}",
        "fftconv_ms": 1e3 * statistics.fmean(times["fftconv"]),
        "scipy_ms": 1e3 * statistics.fmean(times["scipy"]),
        "speedup": sum(times["scipy"]) / sum(times["fftconv"]),
        "speedup_median_call": statistics.median(ratios),
        "repeated_shape_speedup": (statistics.median(repeated["scipy"])
                                   / statistics.median(repeated["fftconv"])),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40, help="new shapes per case (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    machine = machine_info(args.threads)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    print(f"seed {args.seed}, {args.calls} new shapes a case, {args.threads} thread(s) for fftconv "
          "(scipy's functions here run on one)")
    rng = np.random.default_rng(args.seed)
    with fftconv.config.override(threads=args.threads):
        rows = []
        print(f"{'case':<52} {'fftconv':>9} {'scipy':>9} {'speedup':>8} {'settled':>8}")
        for case in CASES:
            row = run_case(case, args.calls, rng, args.threads)
            rows.append(row)
            print(f"{row['case']:<52} {row['fftconv_ms']:>7.3f}ms {row['scipy_ms']:>7.3f}ms "
                  f"{row['speedup']:>7.2f}x {row['repeated_shape_speedup']:>7.2f}x", flush=True)
    speedups = [r["speedup"] for r in rows]
    summary = {"cases": len(rows), "speedup_median": statistics.median(speedups),
               "speedup_min": min(speedups), "cases_slower_than_scipy": sum(s < 1.0 for s in speedups)}
    report_summary(summary, machine, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
