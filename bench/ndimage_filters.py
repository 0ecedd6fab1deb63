"""fftconv.ndimage's separable filters beside scipy.ndimage's, side by side in one run.

Usage: python bench/ndimage_filters.py [--quick] [--threads 1 2] [--json PATH]
                                       [--dask-image SIZE] [--only TEXT] [--everyday SEED]
                                       [--variants SEED]

Images of 512² to 8192² and volumes of 64³ to 256³, float32 and float64:
``gaussian_filter`` for sigma 0.5 to 50 (the boundary modes taken in turn, so every mode
meets every size, and a sweep of all modes on one image), ``uniform_filter`` of sizes 3 to
101, ``correlate1d`` with 3 to 1,001 taps along the first and the last axis, and
``gaussian_gradient_magnitude`` / ``gaussian_laplace`` (shared passes). For every case and
thread count: the fastest of a few calls of each (fftconv's after one warm-up call, so its
plans are made; scipy has none to make), fftconv's speed-up over scipy.ndimage, and the
largest difference from scipy's answer relative to the output's largest value (the issue's
bound: 1e-5 for float32, 1e-10 for float64). scipy.ndimage runs on one thread whatever the
thread count; fftconv is given the count.

``--everyday SEED`` times instead a random grid of the sizes scripts call these filters on
in loops (seed printed; 60 cases): 2-D images of 32 to 720 per side and volumes of 16 to 96,
every separable filter with everyday parameters, float32 and float64, random modes. Such
calls take tens of microseconds to a few milliseconds, so each is timed over many calls
interleaved with scipy's (medians, at least 15 rounds and ~0.3 s of work per case).

``--variants SEED`` times the same way a random grid of the everyday calls that pass more
than the image and a scalar (60 cases, 16 to 320 per side): an output array or dtype, per-axis
sigmas, sizes and origins, ``axes``; each side writes into an output array of its own.

``--dask-image SIZE`` adds fftconv.dask.ndimage.gaussian_filter beside
dask_image.ndfilters.gaussian_filter (``pip install dask-image``) on a LocalCluster of two
single-threaded workers, for a SIZE² float32 image in chunks of 2048² (16384 for the issue's
figure): the filtered array is summed on the cluster, so both pay for every chunk and
neither for moving the image back.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage as sn

import fftconv.ndimage as nd
from fftconv.cli.bench import machine_info
from fftconv.core.boundary import MODES

#: A case is timed until this many seconds have passed or `MOST_CALLS` calls were made.
TIME_BUDGET = 1.0
MOST_CALLS = 5
#: The accuracy asked of fftconv, relative to the output's largest value.
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}


@dataclass
class Case:
    func: str
    shape: tuple[int, ...]
    dtype: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        shape = "x".join(map(str, self.shape))
        words = [self.func, shape, self.dtype, *map(_short, self.args)]
        words += [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        return " ".join(words)


def _short(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.size} taps"
    return str(value)


def cases(quick: bool) -> list[Case]:
    """The grid: every kind of filter on every size, the modes taken in turn."""
    images = [(512, 512), (2048, 2048)] if quick else [(512, 512), (2048, 2048), (8192, 8192)]
    volumes = [(64, 64, 64)] if quick else [(64, 64, 64), (256, 256, 256)]
    sigmas = (0.5, 2.0, 16.0) if quick else (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 50.0)
    sizes = (3, 21, 101) if quick else (3, 5, 11, 21, 51, 101)
    taps = (3, 101) if quick else (3, 15, 101, 1001)
    modes = itertools.cycle(MODES)
    rng = np.random.default_rng(1)
    out = []
    for shape, dtype in itertools.product(images + volumes, ("float32", "float64")):
        big = np.prod(shape) >= 2**26  # 8192² and 256³: the costliest cases of scipy's are left out
        for sigma in sigmas:
            if not (big and sigma > 16):
                out.append(Case("gaussian_filter", shape, dtype, (sigma,), {"mode": next(modes)}))
        for size in sizes:
            out.append(Case("uniform_filter", shape, dtype, (size,), {"mode": next(modes)}))
        for n, axis in itertools.product(taps, (0, -1)):
            if not (big and n > 101):
                weights = rng.standard_normal(n)
                out.append(Case("correlate1d", shape, dtype, (weights,), {"axis": axis, "mode": next(modes)}))
        out.append(Case("gaussian_gradient_magnitude", shape, dtype, (2.0,), {"mode": next(modes)}))
        out.append(Case("gaussian_laplace", shape, dtype, (2.0,), {"mode": next(modes)}))
    for mode in MODES:  # every mode on one image and one sigma
        out.append(Case("gaussian_filter", (2048, 2048), "float32", (4.0,), {"mode": mode, "cval": 0.5}))
    return out


EVERYDAY_FILTERS = ["gaussian_filter", "gaussian_filter1d", "uniform_filter", "uniform_filter1d",
                    "correlate1d", "convolve1d", "sobel", "prewitt", "laplace", "gaussian_laplace",
                    "gaussian_gradient_magnitude"]


def everyday_cases(seed: int, count: int = 60) -> list[Case]:
    """A random grid of everyday calls (``--everyday``)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        if rng.random() < 0.8:
            shape = tuple(int(n) for n in rng.integers(32, 721, 2))
        else:
            shape = tuple(int(n) for n in rng.integers(16, 97, 3))
        dtype = str(rng.choice(["float32", "float64"]))
        mode = str(rng.choice(MODES))
        kind = str(rng.choice(EVERYDAY_FILTERS))
        sigma = round(float(rng.uniform(0.5, 5.0)), 2)
        axis = int(rng.integers(0, len(shape)))
        args: tuple = {
            "gaussian_filter": (sigma,), "gaussian_filter1d": (sigma,), "gaussian_laplace": (sigma,),
            "gaussian_gradient_magnitude": (sigma,), "uniform_filter": (int(rng.integers(3, 16)),),
            "uniform_filter1d": (int(rng.integers(3, 16)),), "sobel": (), "prewitt": (), "laplace": (),
            "correlate1d": (rng.standard_normal(int(rng.integers(3, 32))),),
            "convolve1d": (rng.standard_normal(int(rng.integers(3, 32))),),
        }[kind]
        kwargs: dict = {"mode": mode}
        if kind in ("gaussian_filter1d", "uniform_filter1d", "correlate1d", "convolve1d", "sobel", "prewitt"):
            kwargs["axis"] = axis
        out.append(Case(kind, shape, dtype, args, kwargs))
    return out


def variant_cases(seed: int, count: int = 60) -> list[Case]:
    """A random grid of everyday calls with more than the image and a scalar (``--variants``):
    an output array (``output_array``: its dtype; each side gets its own) or dtype, per-axis
    sigmas, sizes and origins, ``axes``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        shape = tuple(int(n) for n in rng.integers(16, 321, 2))
        dtype = str(rng.choice(["float32", "float64"]))
        kind = str(rng.choice(["gaussian_filter", "uniform_filter", "laplace", "sobel", "gaussian_filter1d",
                               "correlate1d"]))
        kwargs: dict = {"mode": str(rng.choice(MODES))}
        args: tuple = ()
        if kind == "gaussian_filter":
            args = ([round(float(s), 2) for s in rng.uniform(0.5, 3.0, 2)],)
        elif kind == "uniform_filter":
            sizes = [int(n) for n in rng.integers(2, 9, 2)]
            args = (sizes,)
            if rng.random() < 0.5:  # within what scipy takes for each size
                kwargs["origin"] = [int(rng.integers(-(n // 2), (n - 1) // 2 + 1)) for n in sizes]
        elif kind == "gaussian_filter1d":
            args = (round(float(rng.uniform(0.5, 3.0)), 2), int(rng.integers(0, 2)))
        elif kind == "correlate1d":
            args = (rng.standard_normal(int(rng.integers(3, 16))), int(rng.integers(0, 2)))
        elif kind == "sobel":
            args = (int(rng.integers(0, 2)),)
        if kind in ("gaussian_filter", "uniform_filter", "laplace") and rng.random() < 0.4:
            kwargs["axes"] = [int(rng.integers(-2, 2))]
            if kind != "laplace":
                args = (args[0][0],)
            if "origin" in kwargs:
                kwargs["origin"] = kwargs["origin"][0]
        choice = rng.random()
        if choice < 0.6 or kind in ("sobel", "gaussian_filter1d", "correlate1d"):
            kwargs["output_array"] = str(rng.choice(["float32", "float64"]))
        elif choice < 0.8:
            kwargs["output"] = str(rng.choice(["float32", "float64"]))
        out.append(Case(kind, shape, dtype, args, kwargs))
    return out


def run_everyday_case(case: Case, threads: int) -> dict:
    """fftconv's and scipy's median times of ``case`` over interleaved calls, and the error."""
    from fftconv.cli.bench import time_interleaved

    x = np.random.default_rng(0).standard_normal(case.shape).astype(case.dtype)
    theirs, ours = getattr(sn, case.func), getattr(nd, case.func)
    their_kwargs, our_kwargs = dict(case.kwargs), dict(case.kwargs)
    given = their_kwargs.pop("output_array", None)
    our_kwargs.pop("output_array", None)
    if given is not None:  # each side writes into an array of its own
        their_kwargs["output"], our_kwargs["output"] = np.empty(x.shape, given), np.empty(x.shape, given)
    want = theirs(x, *case.args, **their_kwargs)
    for _ in range(3):  # a signature's first calls are planned; its repeats are what a loop meets
        got = ours(x, *case.args, threads=threads, **our_kwargs)
    scale = float(np.max(np.abs(want))) or 1.0
    error = float(np.max(np.abs(got.astype(np.float64) - want))) / scale
    times = time_interleaved({"fftconv": lambda: ours(x, *case.args, threads=threads, **our_kwargs),
                              "scipy": lambda: theirs(x, *case.args, **their_kwargs)}, 15, 2000, 0.3)
    t_ours, t_scipy = statistics.median(times["fftconv"]), statistics.median(times["scipy"])
    return {"case": case.label, "scipy_s": t_scipy, f"fftconv_{threads}_s": t_ours,
            f"speedup_{threads}": t_scipy / t_ours, f"error_{threads}": error}


def fastest(call) -> float:
    """The fastest of up to `MOST_CALLS` calls within `TIME_BUDGET` seconds."""
    best, spent, calls = float("inf"), 0.0, 0
    while calls < MOST_CALLS and (calls == 0 or spent < TIME_BUDGET):
        start = time.perf_counter()
        call()
        took = time.perf_counter() - start
        best, spent, calls = min(best, took), spent + took, calls + 1
    return best


def run_case(case: Case, threads: list[int]) -> dict:
    x = np.random.default_rng(0).standard_normal(case.shape).astype(case.dtype)
    theirs = getattr(sn, case.func)
    ours = getattr(nd, case.func)
    want = theirs(x, *case.args, **case.kwargs)
    t_scipy = fastest(lambda: theirs(x, *case.args, **case.kwargs))
    row = {"case": case.label, "scipy_s": t_scipy}
    for n in threads:
        got = ours(x, *case.args, threads=n, **case.kwargs)  # the warm-up call: plans are made
        scale = float(np.max(np.abs(want))) or 1.0
        row[f"error_{n}"] = float(np.max(np.abs(got.astype(np.float64) - want))) / scale
        t_ours = fastest(lambda: ours(x, *case.args, threads=n, **case.kwargs))  # noqa: B023
        row[f"fftconv_{n}_s"] = t_ours
        row[f"speedup_{n}"] = t_scipy / t_ours
    row["within_tolerance"] = all(row[f"error_{n}"] <= TOLERANCE[case.dtype] for n in threads)
    return row


def dask_image_comparison(size: int, chunk: int = 2048) -> dict:
    """fftconv.dask.ndimage.gaussian_filter beside dask-image's on a LocalCluster."""
    import dask.array as da
    from dask_image import ndfilters
    from distributed import Client, LocalCluster

    import fftconv.dask.ndimage as dn

    row: dict = {"size": size, "chunk": chunk}
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
    ):
        x = da.random.default_rng(0).standard_normal((size, size), chunks=chunk, dtype=np.float32).persist()
        client.wait_for_workers(2)
        for sigma in (2.0, 8.0):
            for name, func in (("fftconv", dn.gaussian_filter), ("dask_image", ndfilters.gaussian_filter)):
                func(x[:chunk, :chunk], sigma).sum().compute()  # imports and plans on the workers
                start = time.perf_counter()
                total = float(func(x, sigma).sum().compute())
                row[f"{name}_sigma{sigma:g}_s"] = time.perf_counter() - start
                row[f"{name}_sigma{sigma:g}_sum"] = total
            row[f"speedup_sigma{sigma:g}"] = (
                row[f"dask_image_sigma{sigma:g}_s"] / row[f"fftconv_sigma{sigma:g}_s"]
            )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller grid (minutes, not an hour)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", default=None, help="run the cases whose label contains this text")
    parser.add_argument(
        "--dask-image",
        type=int,
        default=None,
        metavar="SIZE",
        help="also compare with dask-image on a LocalCluster, a SIZE² image",
    )
    parser.add_argument("--json", default=None, help="write the rows and the machine here")
    parser.add_argument("--everyday", type=int, default=None, metavar="SEED",
                        help="a random grid of everyday sizes (32-720 per side), timed over many calls")
    parser.add_argument("--variants", type=int, default=None, metavar="SEED",
                        help="a random grid of everyday calls with outputs, axes and per-axis arguments")
    args = parser.parse_args()
    if args.variants is not None:
        args.everyday, grid_of = args.variants, variant_cases
    else:
        grid_of = everyday_cases
    machine = machine_info(max(args.threads))
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()), flush=True)
    rows = []
    grid = cases(args.quick) if args.everyday is None else grid_of(args.everyday)
    if args.everyday is not None:
        print(f"{'variants' if args.variants is not None else 'everyday'} grid, seed {args.everyday}")
    chosen = [c for c in grid if args.only is None or args.only in c.label]
    heading = " ".join(f"{'x' + str(n) + ' thr':>8}" for n in args.threads)
    print(f"{'case':<62} {'scipy':>9} {heading}  error", flush=True)
    for case in chosen:
        if args.everyday is None:
            row = run_case(case, args.threads)
        else:
            row = {}
            for n in args.threads:
                row.update(run_everyday_case(case, n))
            row["within_tolerance"] = all(row[f"error_{n}"] <= TOLERANCE[case.dtype] for n in args.threads)
        rows.append(row)
        speedups = " ".join(f"{row[f'speedup_{n}']:8.2f}" for n in args.threads)
        error = max(row[f"error_{n}"] for n in args.threads)
        flag = "" if row["within_tolerance"] else "  OVER TOLERANCE"
        print(
            f"{case.label[:62]:<62} {row['scipy_s'] * 1e3:7.3f}ms {speedups}  {error:.1e}{flag}", flush=True
        )
    summary = {}
    for n in args.threads if rows else []:
        speedups = [r[f"speedup_{n}"] for r in rows]
        worst = min(rows, key=lambda r: r[f"speedup_{n}"])  # noqa: B023
        summary[n] = {
            "median": statistics.median(speedups),
            "min": min(speedups),
            "worst_case": worst["case"],
            "slower_than_scipy": sum(s < 1.0 for s in speedups),
            "cases": len(speedups),
        }
        print(
            f"{n} thread(s): median {summary[n]['median']:.2f}x scipy.ndimage, min {summary[n]['min']:.2f}x "
            f"({worst['case']}), {summary[n]['slower_than_scipy']} of {len(speedups)} cases slower"
        )
    print(f"within tolerance: {sum(r['within_tolerance'] for r in rows)} of {len(rows)}")
    dask_row = None
    if args.dask_image:
        dask_row = dask_image_comparison(args.dask_image)
        print(
            "dask-image on a LocalCluster (2 workers x 1 thread): "
            + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in dask_row.items())
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"machine": machine, "rows": rows, "summary": summary, "dask_image": dask_row}, f, indent=1
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
