"""fftconv.astropy beside astropy.convolution on images with holes, one run, one thread.

Usage: python bench/astropy_nan.py [--quick] [--only TEXT ...] [--threads N] [--json PATH]

Images of 1024² to 8192², float32 and float64, with 2 % scattered NaN pixels and a NaN block
of 64²; Gaussian2DKernel sigma 1, 3 and 20 and a 101x101 PSF (an Airy-like disk); the
boundaries 'fill', 'extend' (astropy.convolve only: convolve_fft has none) and 'wrap';
``nan_treatment='interpolate'``. For every case, astropy's ``convolve`` (skipped where its
direct sum is estimated over a minute, from its rate on the first case) and ``convolve_fft``
(``allow_huge=True``), and fftconv.astropy's ``convolve`` and ``convolve_fft`` with the same
arguments: the two libraries' calls made alternately, three of each, and each side's median
counted (fftconv's once its plans are settled, `warm_up`; astropy has no plans to warm; an
astropy call of over 10 s is timed once), and the peak of the Python heap during another call
(tracemalloc: NumPy's and FFTW's buffers count, and for fftconv what it keeps between calls,
its plans' buffers and kernel spectra, traced from before its warm-up, `measured`; a traced
call is slower, so its time is not the one counted where the calls are alternated).
Reported: fftconv's time against the faster astropy function, its heap against
``convolve_fft``'s, and the largest difference from astropy's result relative to its largest
value (NaN where astropy has NaN, checked); for ``convolve_fft``, both FFT answers are also
compared with astropy's ``convolve`` (direct sums) inside the edges, because astropy's own
transforms carry errors of ~1e-11 of the output's scale in float64 where few valid pixels
are in reach. ``--threads N`` gives fftconv N threads (astropy's functions use one whatever
it is); the issue's criterion is the default, one.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
import tracemalloc

import numpy as np
from astropy import log as astropy_log
from astropy.convolution import Gaussian2DKernel
from astropy.convolution import convolve as astropy_convolve
from astropy.convolution import convolve_fft as astropy_convolve_fft

import fftconv
import fftconv.astropy as ours
from fftconv.cli.bench import machine_info
from fftconv.timing import settle

#: astropy.convolve is skipped where its estimated time is over this many seconds.
DIRECT_LIMIT = 60.0
#: At most this many warm-up calls of fftconv's before its timed one (a trial of three
#: contenders, the few large tiles among them, settles in 45-60 calls).
WARM_UP_CALLS = 100
#: astropy's calls shorter than this are timed `ROUNDS` times alternately with fftconv's, each
#: side's median counted (`alternated`).
REPEAT_BELOW = 10.0
ROUNDS = 3


def psf(size: int = 101) -> np.ndarray:
    """An Airy-like PSF: a disk's diffraction pattern, normalised."""
    from scipy.special import j1

    r = np.hypot(*np.mgrid[-(size // 2) : size // 2 + 1, -(size // 2) : size // 2 + 1]) * 0.35 + 1e-9
    pattern = (2 * j1(r) / r) ** 2
    return pattern / pattern.sum()


def kernels() -> dict[str, np.ndarray]:
    return {f"gaussian sigma {s}": Gaussian2DKernel(s).array for s in (1, 3, 20)} | {"psf 101x101": psf()}


def image(n: int, dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n)).astype(dtype)
    x[rng.random((n, n)) < 0.02] = np.nan
    x[n // 3 : n // 3 + 64, n // 2 : n // 2 + 64] = np.nan
    return x


def cases(quick: bool) -> list[tuple[int, str, str, str]]:
    """(side, dtype, kernel, boundary)."""
    if quick:
        return [(1024, "float32", "gaussian sigma 3", "fill"), (1024, "float64", "psf 101x101", "wrap")]
    grid = [
        (1024, dt, k, b)
        for dt in ("float32", "float64")
        for k in kernels()
        for b in ("fill", "extend", "wrap")
    ]
    grid += [(2048, dt, k, "fill") for dt in ("float32", "float64") for k in kernels()]
    grid += [(2048, "float32", "gaussian sigma 3", b) for b in ("extend", "wrap")]
    grid += [
        (4096, "float32", "gaussian sigma 3", "fill"),
        (4096, "float64", "gaussian sigma 20", "fill"),
        (4096, "float32", "psf 101x101", "wrap"),
        (8192, "float32", "gaussian sigma 3", "fill"),
        (8192, "float64", "psf 101x101", "fill"),
    ]
    return grid


def case_name(n: int, dtype: str, kernel_name: str, boundary: str) -> str:
    return f"{n}² {dtype} {kernel_name} {boundary}"


def measured(func, *args, **kwargs) -> tuple[object, float, int]:
    """(result, seconds, peak heap bytes) of fftconv's call once its plans are settled
    (`warm_up`): the heap counts what the call allocates and what fftconv keeps between calls
    for it (plans' buffers, kernel spectra, scratch), traced from before the warm-up with
    every kept buffer of earlier cases released (`fftconv.release_memory`); the time is an
    untraced call's, since tracing each allocation slows a call (fftconv's 1024² float32
    sigma 1 'fill' call: 16.5 ms untraced, 38 ms traced), and follows an untimed one, as
    `alternated`'s do: the call right after the traced one (whose result is still held)
    writes its output into memory the process touches for the first time (4096² float64
    sigma 20 'fill': 2.5 s against 0.75 in a loop, all of it in the division's first writes
    to the output, Intel Xeon VM)."""
    fftconv.release_memory()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        warm_up(func, *args, **kwargs)
        fftconv.background.wait(600)  # its allocations are not the call's
        tracemalloc.reset_peak()
        result = func(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    func(*args, **kwargs)
    started = time.perf_counter()
    func(*args, **kwargs)
    seconds = time.perf_counter() - started
    return result, seconds, peak


def alternated(theirs, ours, rounds: int = ROUNDS) -> tuple[float, float]:
    """The medians of ``rounds`` untraced calls of astropy's function and of fftconv's, made
    alternately: one call of either on this shared VM varies by +-30 % over a minute, and
    alternating puts both sides in the same minutes. Each of fftconv's timed calls follows an
    untimed one, as in a loop of its own: right after astropy's call (hundreds of MiB
    allocated and returned to the system) its first call page-faults its arrays anew
    (1024² float32 sigma 3 'fill': 17 ms against 10-12 in its own loop)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        ours()
        for side, func in zip(times, (ours, theirs)):
            started = time.perf_counter()
            func()
            side.append(time.perf_counter() - started)
    return statistics.median(times[1]), statistics.median(times[0])


def compared(theirs, ours, **kwargs) -> tuple[object, float, int, object, float, int]:
    """astropy's and fftconv's result, seconds and peak heap for one case's arguments
    (``kwargs``, after the image and kernel in ``theirs``/``ours``' partials): each heap from
    a traced call, fftconv's after its plans are settled (`warm_up`); the times alternated
    (`alternated`) where astropy's call is under `REPEAT_BELOW` seconds, else one traced call
    of astropy's (its long calls are C loops and FFTs allocating a few large arrays, which
    tracing does not slow) beside one untraced call of fftconv's."""
    want, seconds, heap = traced(theirs, **kwargs)
    got, mine, my_heap = measured(ours, **kwargs)
    if seconds < REPEAT_BELOW:
        seconds, mine = alternated(lambda: theirs(**kwargs), lambda: ours(**kwargs))
    return want, seconds, heap, got, mine, my_heap


def traced(func, *args, **kwargs) -> tuple[object, float, int]:
    """(result, seconds, peak heap bytes) of one call made with the heap traced."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    result = func(*args, **kwargs)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak


def warm_up(func, *args, **kwargs) -> None:
    """Calls until the plans are settled (`fftconv.timing.settle`): the state of a script's
    later calls of that size."""
    settle(lambda: func(*args, **kwargs), WARM_UP_CALLS)


def difference(got: np.ndarray, want: np.ndarray) -> float:
    """Largest |got - want| over the largest |want|; inf if the NaN masks differ."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        return float("inf")
    scale = np.nanmax(np.abs(want)) or 1.0
    return float(np.nanmax(np.abs(got - want)) / scale)


def interior(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``a`` without a border of the kernel's reach (where the two astropy functions define
    the edges differently)."""
    return a[tuple(slice(k // 2, n - k // 2) for n, k in zip(a.shape, kernel.shape))]


def run_case(n: int, dtype: str, kernel_name: str, boundary: str, direct_rate: list[float]) -> dict:
    x, k = image(n, dtype), kernels()[kernel_name]
    row = {
        "case": case_name(n, dtype, kernel_name, boundary),
        "side": n,
        "dtype": dtype,
        "kernel": kernel_name,
        "boundary": boundary,
    }
    macs = n * n * k.size
    exact = None  # astropy.convolve's direct sums: the reference where it runs
    if not direct_rate or macs * direct_rate[0] <= DIRECT_LIMIT:
        exact, seconds, heap, got, mine, my_heap = compared(
            functools.partial(astropy_convolve, x, k), functools.partial(ours.convolve, x, k),
            boundary=boundary)
        direct_rate[:] = [seconds / macs] if not direct_rate else direct_rate
        row["convolve"] = {
            "astropy_s": seconds,
            "astropy_heap": heap,
            "fftconv_s": mine,
            "fftconv_heap": my_heap,
            "speedup": seconds / mine,
            "difference": difference(got, exact),
        }
    else:
        row["convolve"] = {"skipped": f"estimated {macs * direct_rate[0]:.0f} s"}
    if boundary != "extend":
        want, seconds, heap, got, mine, my_heap = compared(
            functools.partial(astropy_convolve_fft, x, k), functools.partial(ours.convolve_fft, x, k),
            boundary=boundary, allow_huge=True)
        row["convolve_fft"] = {
            "astropy_s": seconds,
            "astropy_heap": heap,
            "fftconv_s": mine,
            "fftconv_heap": my_heap,
            "speedup": seconds / mine,
            "heap_ratio": my_heap / heap,
            "difference": difference(got, want),
        }
        if exact is not None:  # both FFT answers against the direct sums, inside the edges
            ours_fft, theirs, direct = (interior(a, k) for a in (got, want, exact))
            reached = np.isfinite(direct)  # where a valid pixel is in reach (the functions differ beyond)
            row["convolve_fft"]["fftconv_vs_direct"] = difference(ours_fft[reached], direct[reached])
            row["convolve_fft"]["astropy_vs_direct"] = difference(theirs[reached], direct[reached])
    return row


def verdict(row: dict) -> dict:
    """fftconv's best time against the faster astropy function, and the bounds checked: each
    drop-in within the tolerance of astropy's answer, or, for ``convolve_fft``, of the direct
    sums where astropy's own answer is not."""
    timed = [row[f] for f in ("convolve", "convolve_fft") if f in row and "skipped" not in row[f]]
    fastest_astropy = min(t["astropy_s"] for t in timed)
    fastest_ours = min(t["fftconv_s"] for t in timed)
    tol = 1e-6 if row["dtype"] == "float32" else 1e-12

    def within(t: dict) -> bool:
        if t["difference"] <= tol:
            return True
        return t.get("astropy_vs_direct", 0.0) > tol and t.get("fftconv_vs_direct", np.inf) <= tol

    return {
        "vs_faster_astropy": fastest_astropy / fastest_ours,
        "heap_vs_convolve_fft": row["convolve_fft"]["heap_ratio"] if "convolve_fft" in row else None,
        "within_tolerance": all(within(t) for t in timed),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="+", default=None, metavar="TEXT",
                        help="run the cases whose name ('1024² float32 psf 101x101 fill') holds any TEXT")
    parser.add_argument("--threads", type=int, default=1,
                        help="fftconv's threads (default 1: the issue's criterion; astropy's functions "
                        "use one whatever this is)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    astropy_log.setLevel("ERROR")  # both libraries warn of the NaN block's centre on every call
    machine = machine_info(args.threads)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    rows, direct_rate = [], []
    with fftconv.config.override(threads=args.threads):
        for n, dtype, kernel_name, boundary in cases(args.quick):
            if args.only and not any(t in case_name(n, dtype, kernel_name, boundary) for t in args.only):
                continue
            row = run_case(n, dtype, kernel_name, boundary, direct_rate)
            row.update(verdict(row))
            rows.append(row)
            parts = []
            for f in ("convolve", "convolve_fft"):
                t = row.get(f)
                if t is None:
                    continue
                parts.append(
                    f"{f} {t['skipped']}"
                    if "skipped" in t
                    else f"{f} astropy {t['astropy_s']:.3f} s / fftconv {t['fftconv_s']:.3f} s "
                    f"({t['speedup']:.0f}x, heap {t['fftconv_heap'] / 2**20:.0f} vs "
                    f"{t['astropy_heap'] / 2**20:.0f} MiB, diff {t['difference']:.1e}"
                    + (f"; from the direct sums fftconv {t['fftconv_vs_direct']:.0e}, astropy "
                       f"{t['astropy_vs_direct']:.0e}" if "fftconv_vs_direct" in t else "") + ")"
                )
            print(f"{row['case']:<42} {row['vs_faster_astropy']:6.1f}x | " + " | ".join(parts), flush=True)
    ratios = [r["vs_faster_astropy"] for r in rows]
    heaps = [r["heap_vs_convolve_fft"] for r in rows if r["heap_vs_convolve_fft"] is not None]
    summary = {
        "cases": len(rows),
        "min_vs_faster_astropy": min(ratios),
        "median_vs_faster_astropy": float(np.median(ratios)),
        "max_heap_vs_convolve_fft": max(heaps),
        "all_within_tolerance": all(r["within_tolerance"] for r in rows),
    }
    print(
        "\n" + "\n".join(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}" for k, v in summary.items())
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "summary": summary, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
