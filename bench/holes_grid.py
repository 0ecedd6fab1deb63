"""fftconv.astropy beside astropy.convolution on a random grid of everyday arrays with holes.

Usage: python bench/holes_grid.py [--seed S] [--cases N] [--cubes] [--json PATH]

`bench/astropy_nan.py` times the large images of issue #21; this grid draws what a script
meets day to day (``--cubes``: spectral cubes instead, see `draw_cube_case`): 1-D spectra of
100 to 10**6 samples, 2-D images of 16 to 1024 a side (rectangular), 3-D cubes of 12 to 96 a
side; Gaussian kernels (sigma 0.5-6), boxes (3-15 wide) and kernels of rank above 1 (an
Airy-like PSF, a ball); float32 and float64; 0.1-10 % NaN pixels; every boundary each
function has ('fill', 'extend', 'wrap' for ``convolve``, 'fill' and 'wrap' for
``convolve_fft``); ``nan_treatment='interpolate'``. Each function is timed beside its
fftconv drop-in on repeated calls (the state of a loop: fftconv's plans settled first), the
two sides alternated over `ROUNDS` rounds of enough calls to last `ROUND_SECONDS`, and each
side's median call counted; the seed is printed. Reported per case:
astropy's time over fftconv's for each function, and whether fftconv's answer is within 1e-6
(float32) / 1e-12 (float64) of astropy's relative to its largest value (for ``convolve_fft``,
or of astropy's direct sums inside the edges where astropy's own transform is not; 'OFF' marks
a case that is neither).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings

import numpy as np
from astropy import log as astropy_log
from astropy.convolution import Box1DKernel, Box2DKernel, Gaussian1DKernel, Gaussian2DKernel
from astropy.convolution import convolve as astropy_convolve
from astropy.convolution import convolve_fft as astropy_convolve_fft
from astropy_nan import difference, interior, psf

import fftconv.astropy as ours
from fftconv.cli.bench import machine_info
from fftconv.timing import settle

#: Alternated rounds of each side's calls per function.
ROUNDS = 5
#: Seconds a round of one side's calls lasts (at least one call).
ROUND_SECONDS = 0.01
#: astropy calls longer than this are timed once beside one of fftconv's.
ONCE_ABOVE = 1.0
#: At most this many warm-up calls of fftconv's before the timed ones (`fftconv.timing.settle`).
WARM_UP_CALLS = 100
#: The largest cube ``--cubes`` draws (astropy's ``convolve`` takes ~1 s on it).
CUBE_VOXELS = 4_000_000


def draw_case(rng: np.random.Generator) -> dict:
    """One everyday array with holes and its kernel (see the module docstring)."""
    ndim = int(rng.choice([1, 2, 3], p=[0.3, 0.55, 0.15]))
    low, high = {1: (100, 10**6), 2: (16, 1024), 3: (12, 96)}[ndim]
    if ndim == 1:
        shape = (int(np.exp(rng.uniform(np.log(low), np.log(high)))),)
    else:
        shape = tuple(int(np.exp(rng.uniform(np.log(low), np.log(high)))) for _ in range(ndim))
    kind = str(rng.choice(["gaussian", "box", "other"], p=[0.5, 0.3, 0.2]))
    if kind == "gaussian":
        sigma = float(np.exp(rng.uniform(np.log(0.5), np.log(6.0))))
        g = Gaussian1DKernel(sigma).array
        kernel = {1: g, 2: Gaussian2DKernel(sigma).array, 3: np.einsum("i,j,k->ijk", g, g, g)}[ndim]
        name = f"gaussian sigma {sigma:.2f}"
    elif kind == "box":
        width = int(rng.choice([3, 5, 7, 9, 11, 13, 15]))
        kernel = {1: Box1DKernel(width).array, 2: Box2DKernel(width).array,
                  3: np.full((width,) * 3, 1.0 / width**3)}[ndim]
        name = f"box {width}"
    else:
        size = int(rng.choice([7, 11, 15, 21, 31])) if ndim < 3 else int(rng.choice([5, 7, 9]))
        if ndim == 2:
            kernel, name = psf(size), f"psf {size}x{size}"
        elif ndim == 1:
            kernel, name = rng.random(size) + 0.1, f"random {size} taps"
        else:
            grid = np.mgrid[(slice(-(size // 2), size // 2 + 1),) * 3]
            kernel = (np.sqrt((grid.astype(float) ** 2).sum(axis=0)) <= size / 2).astype(float)
            kernel, name = kernel / kernel.sum(), f"ball {size}"
    dtype = str(rng.choice(["float32", "float64"]))
    share = float(np.exp(rng.uniform(np.log(0.001), np.log(0.1))))
    boundary = str(rng.choice(["fill", "extend", "wrap"]))
    return {"shape": shape, "kernel": kernel, "kernel_name": name, "dtype": dtype, "holes": share,
            "boundary": boundary}


def draw_cube_case(rng: np.random.Generator) -> dict:
    """One spectral cube with holes (``--cubes``): 16 to 400 channels of 16 to 256 a side (at
    most `CUBE_VOXELS`), smoothed along its spectra (a Gaussian of sigma 0.5-6 or a box of 3-15
    channels, as a kernel of shape (n, 1, 1)) or within its channels (a Gaussian of sigma
    0.5-4, shape (1, n, n)), as spectral-cube's ``spectral_smooth`` and ``spatial_smooth`` ask
    of astropy's functions."""
    while True:
        shape = (int(np.exp(rng.uniform(np.log(16), np.log(400)))),
                 *(int(np.exp(rng.uniform(np.log(16), np.log(256)))) for _ in range(2)))
        if np.prod(shape) <= CUBE_VOXELS:
            break
    kind = str(rng.choice(["spectral gaussian", "spectral box", "spatial gaussian"], p=[0.4, 0.2, 0.4]))
    if kind == "spectral gaussian":
        sigma = float(np.exp(rng.uniform(np.log(0.5), np.log(6.0))))
        kernel, name = Gaussian1DKernel(sigma).array[:, None, None], f"spectral gaussian sigma {sigma:.2f}"
    elif kind == "spectral box":
        width = int(rng.choice([3, 5, 7, 9, 11, 13, 15]))
        kernel, name = Box1DKernel(width).array[:, None, None], f"spectral box {width}"
    else:
        sigma = float(np.exp(rng.uniform(np.log(0.5), np.log(4.0))))
        kernel, name = Gaussian2DKernel(sigma).array[None], f"spatial gaussian sigma {sigma:.2f}"
    dtype = str(rng.choice(["float32", "float64"]))
    return {"shape": shape, "kernel": kernel, "kernel_name": name, "dtype": dtype,
            "holes": float(np.exp(rng.uniform(np.log(0.001), np.log(0.1)))),
            "boundary": str(rng.choice(["fill", "extend", "wrap"]))}


def image(case: dict, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["shape"]).astype(case["dtype"])
    x[rng.random(case["shape"]) < case["holes"]] = np.nan
    return x


def per_call(func, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        func()
    return (time.perf_counter() - started) / calls


def side_by_side(theirs, mine) -> tuple[float, float]:
    """The median seconds a call of astropy's function and of fftconv's take, alternated
    over `ROUNDS` rounds (one call each where astropy's is over `ONCE_ABOVE`)."""
    first = per_call(theirs, 1)
    if first > ONCE_ABOVE:
        return first, per_call(mine, 1)
    calls = [max(1, int(ROUND_SECONDS / max(per_call(f, 1), 1e-7))) for f in (theirs, mine)]
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(ROUNDS):
        times[0].append(per_call(theirs, calls[0]))
        times[1].append(per_call(mine, calls[1]))
    return statistics.median(times[0]), statistics.median(times[1])


def run_case(case: dict, seed: int) -> dict:
    x, k = image(case, seed), case["kernel"]
    row = {"case": f"{'x'.join(map(str, case['shape']))} {case['dtype']} {case['kernel_name']} "
                   f"{case['boundary']} holes {100 * case['holes']:.1f}%",
           "shape": list(case["shape"]), "dtype": case["dtype"], "kernel": case["kernel_name"],
           "boundary": case["boundary"], "holes": case["holes"]}
    tol = 1e-6 if case["dtype"] == "float32" else 1e-12
    options = {"boundary": case["boundary"], "nan_treatment": "interpolate"}
    exact = astropy_convolve(x, k, **options)
    settle(lambda: ours.convolve(x, k, **options), WARM_UP_CALLS)
    theirs, mine = side_by_side(lambda: astropy_convolve(x, k, **options),
                                lambda: ours.convolve(x, k, **options))
    row["convolve"] = {"astropy_s": theirs, "fftconv_s": mine, "speedup": theirs / mine,
                       "within_tolerance": difference(ours.convolve(x, k, **options), exact) <= tol}
    if case["boundary"] != "extend":
        fft_options = dict(options, allow_huge=True)
        want = astropy_convolve_fft(x, k, **fft_options)
        settle(lambda: ours.convolve_fft(x, k, **fft_options), WARM_UP_CALLS)
        theirs, mine = side_by_side(lambda: astropy_convolve_fft(x, k, **fft_options),
                                    lambda: ours.convolve_fft(x, k, **fft_options))
        got = ours.convolve_fft(x, k, **fft_options)
        within = difference(got, want) <= tol
        if not within:  # astropy's own transform misses its direct sums: both against those, inside
            direct = interior(exact, k)
            reached = np.isfinite(direct)
            theirs_off = difference(interior(want, k)[reached], direct[reached])
            within = theirs_off > tol and difference(interior(got, k)[reached], direct[reached]) <= tol
        row["convolve_fft"] = {"astropy_s": theirs, "fftconv_s": mine, "speedup": theirs / mine,
                               "within_tolerance": within}
    return row


def summary(rows: list[dict]) -> dict:
    out = {}
    for func in ("convolve", "convolve_fft"):
        ratios = [r[func]["speedup"] for r in rows if func in r]
        out[func] = {"cases": len(ratios), "median": statistics.median(ratios), "min": min(ratios),
                     "slower": sum(x < 1.0 for x in ratios)}
    out["all_within_tolerance"] = all(r[f]["within_tolerance"] for r in rows
                                      for f in ("convolve", "convolve_fft") if f in r)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261205)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--json", default=None)
    parser.add_argument("--cubes", action="store_true",
                        help="spectral cubes smoothed along their spectra or within their channels")
    args = parser.parse_args()
    astropy_log.setLevel("ERROR")  # both libraries warn of outputs with no valid pixel in reach
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(args.seed)
    machine = machine_info(1)
    print(f"seed {args.seed}; machine: {', '.join(f'{k}={v}' for k, v in machine.items())}", flush=True)
    rows = []
    for i in range(args.cases):
        case = draw_cube_case(rng) if args.cubes else draw_case(rng)
        row = run_case(case, args.seed + i)
        rows.append(row)
        parts = [f"{f} {row[f]['speedup']:.2f}x ({row[f]['astropy_s'] * 1e3:.3f} / "
                 f"{row[f]['fftconv_s'] * 1e3:.3f} ms{'' if row[f]['within_tolerance'] else ', OFF'})"
                 for f in ("convolve", "convolve_fft") if f in row]
        print(f"{row['case']:<58} " + " | ".join(parts), flush=True)
    result = summary(rows)
    for func in ("convolve", "convolve_fft"):
        s = result[func]
        print(f"{func}: {s['cases']} cases, median {s['median']:.2f}x astropy's, min {s['min']:.2f}x, "
              f"{s['slower']} slower")
    print(f"all_within_tolerance: {result['all_within_tolerance']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": args.seed, "cubes": args.cubes, "machine": machine, "rows": rows,
                       "summary": result}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
