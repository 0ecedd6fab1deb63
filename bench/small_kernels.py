"""Small kernels, fftconv beside OpenCV's filter2D and scipy.ndimage, side by side in one run.

Usage: python bench/small_kernels.py [--json PATH] [--threads 1 2] [--sizes 256 512 ...]
                                     [--kernels 3 5 ...] [--rounds N]

2-D float32 and float64 images (256² to 4096², non-powers of two included), kernels 3x3 to
15x15, 'same' outputs with a constant (zero) border and a reflect border, at each thread count
(OpenCV's ``cv2.setNumThreads`` matched; scipy.ndimage has one thread). Per case: the median
of ``--rounds`` rounds, the implementations taking turns in each round, fftconv's calls
settled first (`fftconv.timing.settle`: its trial of close contenders and FFTW's background
plans done, the state of a loop's later calls; a signature's first calls are measured by
``fftconv bench --suite first-calls`` and ``bench/fresh_grid.py``). ``fftconv.correlate``
is timed on the constant border (its 'same' is a zero border), ``fftconv.ndimage.correlate``
on both; the issue's targets are at least 1.0x OpenCV and 3x scipy.ndimage for both.
Results equal OpenCV's to rounding (checked; the largest relative difference is reported).
Needs ``opencv-python-headless`` (``pip install ".[peers]"``).
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

import fftconv
import fftconv.ndimage
from fftconv.cli.bench import machine_info, report_summary
from fftconv.timing import settle

SIZES = [256, 333, 512, 517, 1000, 2048, 2500, 4096]
KERNELS = [3, 5, 7, 9, 11, 15]
DTYPES = ["float32", "float64"]
BORDERS = ["constant", "reflect"]


def timed(func, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        func()
    return (time.perf_counter() - start) / calls


def implementations(cv2, x, k, border: str, threads: int) -> dict:
    """name -> call, for one case."""
    cv_border = cv2.BORDER_CONSTANT if border == "constant" else cv2.BORDER_REFLECT
    calls = {
        "opencv": lambda: cv2.filter2D(x, -1, k, borderType=cv_border),
        "fftconv.ndimage": lambda: fftconv.ndimage.correlate(x, k, mode=border, threads=threads),
        "scipy.ndimage": lambda: scipy.ndimage.correlate(x, k, mode=border),
    }
    if border == "constant":
        calls["fftconv.correlate"] = lambda: fftconv.correlate(x, k, "same", threads=threads)
    return calls


def run_case(cv2, n: int, m: int, dtype: str, border: str, threads: int, rounds: int, rng) -> dict:
    x = rng.standard_normal((n, n)).astype(dtype)
    k = rng.standard_normal((m, m)).astype(dtype)
    calls = implementations(cv2, x, k, border, threads)
    cv2.setNumThreads(threads)
    reference = calls["opencv"]()
    scale = float(np.max(np.abs(reference)))
    errors = {name: float(np.max(np.abs(f() - reference))) / scale for name, f in calls.items()}
    for name, f in calls.items():
        if name.startswith("fftconv"):
            settle(f)
    once = {name: timed(f, 1) for name, f in calls.items()}
    repeats = {name: max(1, min(50, int(0.02 / max(t, 1e-6)))) for name, t in once.items()}
    # scipy.ndimage on big cases takes seconds: one call per round
    repeats["scipy.ndimage"] = 1
    rounds_for = {name: rounds if once[name] < 0.25 else max(2, rounds // 3) for name in calls}
    times: dict[str, list[float]] = {name: [] for name in calls}
    for r in range(rounds):
        names = list(calls)
        names = names[r % len(names):] + names[:r % len(names)]  # take turns going first
        for name in names:
            if len(times[name]) < rounds_for[name]:
                times[name].append(timed(calls[name], repeats[name]))
    medians = {name: statistics.median(t) for name, t in times.items()}
    row = {"size": n, "kernel": m, "dtype": dtype, "border": border, "threads": threads,
           **{f"{name}_ms": t * 1e3 for name, t in medians.items()},
           "max_rel_diff_vs_opencv": max(v for name, v in errors.items() if name != "opencv")}
    for name in ("fftconv.ndimage", "fftconv.correlate"):
        if name in medians:
            row[f"{name}_vs_opencv"] = medians["opencv"] / medians[name]
            row[f"{name}_vs_scipy"] = medians["scipy.ndimage"] / medians[name]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--kernels", type=int, nargs="+", default=KERNELS)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    try:
        import cv2
    except ImportError:
        print("needs OpenCV: pip install opencv-python-headless (or .[peers])", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    machine = machine_info(max(args.threads))
    machine["opencv"] = cv2.__version__
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    print("speedups: OpenCV's (or scipy.ndimage's) median time over fftconv's; > 1: fftconv is faster")
    print(f"{'case':<34} {'opencv':>9} {'ndimage':>9} {'vs cv2':>7} {'vs scipy':>8} "
          f"{'correlate':>9} {'vs cv2':>7} {'max diff':>9}")
    rng = np.random.default_rng(0)
    rows = []
    grid = itertools.product(args.threads, DTYPES, args.sizes, args.kernels, BORDERS)
    for threads, dtype, n, m, border in grid:
        row = run_case(cv2, n, m, dtype, border, threads, args.rounds, rng)
        rows.append(row)
        corr = (f"{row['fftconv.correlate_ms']:>7.3f}ms {row['fftconv.correlate_vs_opencv']:>6.2f}x"
                if "fftconv.correlate_ms" in row else f"{'':>9} {'':>7}")
        print(f"{n}² * {m}x{m} {dtype} {border:<8} t={threads:<2} {row['opencv_ms']:>7.3f}ms "
              f"{row['fftconv.ndimage_ms']:>7.3f}ms {row['fftconv.ndimage_vs_opencv']:>6.2f}x "
              f"{row['fftconv.ndimage_vs_scipy']:>7.1f}x {corr} {row['max_rel_diff_vs_opencv']:>9.1e}",
              flush=True)
    ours = ("fftconv.ndimage", "fftconv.correlate")
    vs_cv = [r[f"{k}_vs_opencv"] for r in rows for k in ours if f"{k}_vs_opencv" in r]
    vs_sc = [r[f"{k}_vs_scipy"] for r in rows for k in ours if f"{k}_vs_scipy" in r]
    summary = {
        "cases": len(rows), "timings_vs_opencv": len(vs_cv),
        "min_vs_opencv": min(vs_cv), "median_vs_opencv": statistics.median(vs_cv),
        "below_1.0x_opencv": sum(v < 1.0 for v in vs_cv),
        "min_vs_scipy": min(vs_sc), "below_3x_scipy": sum(v < 3.0 for v in vs_sc),
        "slowest_vs_opencv": sorted(
            (round(r[f"{k}_vs_opencv"], 2), f"{r['size']}² {r['kernel']}x{r['kernel']} {r['dtype']} "
             f"{r['border']} t={r['threads']} {k}")
            for r in rows for k in ours if f"{k}_vs_opencv" in r)[:8],
    }
    report_summary(summary, machine, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
