"""``fftconv tune``: measure this machine, fit the cost model, report, write the config.

Three groups of measurements, each fitted by a robust ratio (median of measured/predicted):

1. FFTW transform pairs (forward + inverse) across sizes, ranks, radices, precisions and
   the L3 boundary: ``fft_point_log`` and ``fft_point`` (least squares on per-point cost
   against ``log2 N``, powers of two), ``radix3``, ``radix5``, ``radix7`` (jointly, least
   squared log error on lengths with odd factors), then ``fft_rank3_factor``, ``fft_out_of_cache``,
   ``single_factor``, ``complex_factor`` as ratios;
2. whole convolutions by the spectral executor: what the transforms do not explain is
   regressed (non-negative least squares) on buffer points (operands streamed from memory,
   or in the cache), buffer rows, tiles and calls: ``copy_point``, ``copy_point_cached``,
   ``copy_row``, ``tile_overhead``, ``call_overhead``;
3. direct sums: ``direct_point`` and ``direct_mac`` (scipy.ndimage's loop, per output and per
   multiply-add: one ratio for the two), ``row_point``, ``row_tap`` and ``row_call`` (short
   kernel rows over the flattened image: one ratio for the three), ``direct_mac_1d``
   (np.convolve),
   ``direct_generic`` (shift-and-add relative to ndimage);
4. separable passes of a rank-1 kernel (float64): ``gemm_mac``;
5. with more than one thread: what FFTW's threads gain inside a transform
   (``fft_thread_efficiency``, ``fft_thread_efficiency_1d``) and what workers sharing tiles
   gain (``thread_efficiency``, ``thread_efficiency_out_of_cache`` in proportion).

Then planner regret (time of the chosen method / fastest method) is measured on validation
cases with the old and the new coefficients.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.optimize

from . import _fftw, config
from ._costs import CostModel, busiest_share
from ._geometry import output_window
from ._planner import (
    _direct_seconds,
    _precision,
    _spectral_seconds,
    copied_rows,
    direct_macs,
    make_plan,
    operand_bytes,
    whole_fft_shape,
)
from ._signal import convolve
from ._spectral import convolve_spectral, make_layout


@dataclass(frozen=True)
class TuneResult:
    """What a tuning run fitted and measured."""

    old: CostModel
    new: CostModel
    fit_error: dict[str, float]  # median |log(predicted / measured)| per group, old and new
    regret_old: list[float]
    regret_new: list[float]
    seconds: float


def typical_time(func: Callable[[], object], min_seconds: float, max_runs: int = 50) -> float:
    """Median of several runs (after one warm-up), running for at least ``min_seconds``: the
    statistic the benchmarks judge by (the fastest run flatters memory-bound work, such as the
    direct sum, more than transforms, and so skews the planner's comparisons).

    Examples
    --------
    >>> typical_time(lambda: sum(range(100)), 0.001) > 0
    True
    """
    func()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < min_seconds and len(times) < max_runs):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _fft_cases(quick: bool) -> list[tuple[tuple[int, ...], str]]:
    sizes_2d = [32, 64, 128, 256, 512, 1024, 2048] + ([] if quick else [3000])
    cases = [((n, n), "float64") for n in sizes_2d]
    cases += [((n, n), "float32") for n in (128, 512, 1024)]
    cases += [((n, n), "complex128") for n in (128, 512)]
    cases += [((n,), "float64") for n in (256, 1024, 4096, 16384, 65536)]
    # lengths with factors 3, 5 and 7 (FFTW's passes of each radix run at their own speed)
    odd = (240, 270, 280) if quick else (240, 250, 252, 270, 280, 288, 300)
    cases += [((n, n), "float64") for n in odd]
    cases += [((n, n, n), "float64") for n in ((32, 64, 72) if quick else (32, 48, 64, 72, 80, 128))]
    return cases


def _spectral_cases(quick: bool) -> list[tuple[tuple[int, ...], tuple[int, ...], str, str]]:
    cases: list = [((256, 256), (5, 5), "tiled"), ((512, 512), (9, 9), "fft"),
             ((1024, 1024), (7, 7), "tiled"), ((64, 64), (5, 5), "fft"), ((8192,), (101,), "fft"),
             ((8192,), (511,), "tiled"), ((30000,), (255,), "fft"),
             ((2048, 2048), (15, 15), "tiled")]
    if not quick:
        cases += [((1024, 1024), (31, 31), "fft"), ((3000, 3000), (11, 11), "tiled"),
                  ((64, 64, 64), (5, 5, 5), "tiled"), ((100000,), (301,), "tiled")]
    cases = [(s1, s2, "same", m) for s1, s2, m in cases]
    # small fixed tiles, so that the per-tile overhead can be told apart from per-point costs
    cases += [((512, 512), (3, 3), "same", (32, 32)), ((512, 512), (5, 5), "same", (64, 64)),
              ((20000,), (5,), "same", (64,))]
    return cases


def _validation_cases(quick: bool):
    cases = [((512, 512), (3, 3), "same"), ((512, 512), (9, 9), "same"), ((1024, 1024), (5, 5), "full"),
             ((8192,), (101,), "full"), ((200, 200), (41, 41), "valid"), ((300, 300), (17, 17), "same")]
    if not quick:
        cases += [((2048, 2048), (31, 31), "same"), ((64, 64, 64), (3, 3, 3), "same"),
                  ((100000,), (31,), "full"), ((1500, 1500), (65, 65), "same"),
                  ((4096, 4096), (9, 9), "same"), ((128, 128, 128), (9, 9, 9), "same"),
                  ((600, 600), (3, 3), "full"), ((128, 128), (31, 31), "full")]
    return cases


def _log_error(pred: Iterable[float], meas: Iterable[float]) -> float:
    return statistics.median(abs(math.log(p / m)) for p, m in zip(pred, meas))


def _fft_prediction(costs: CostModel, shape, dtype) -> float:
    dtype = np.dtype(dtype)
    return costs.fft_seconds(int(np.prod(shape)), dtype.itemsize, dtype.kind != "c", _precision(dtype),
                             rank=len(shape))


def _spectral_prediction(costs: CostModel, s1, s2, mode, method, dtype=np.float64) -> float:
    windows = tuple(output_window(a, b, mode) for a, b in zip(s1, s2))
    plan = make_plan(tuple(s1), tuple(s2), windows, (), np.dtype(dtype), 1, method, costs=costs)
    return plan.estimates[method]


_THREAD_STEPS = 3


def _thread_gain(t1: float, tn: float, threads: int) -> float:
    """Efficiency ``e`` of each extra thread from ``tn = t1 / (1 + (threads - 1) e)``."""
    return min(max((t1 / tn - 1) / (threads - 1), 0.05), 1.0)


def _fit_threads(fitted: CostModel, threads: int, budget: float, quick: bool, rng, bar) -> CostModel:
    """``fft_thread_efficiency`` (multi-dimensional) and ``fft_thread_efficiency_1d`` from
    FFTW pairs on 1 and ``threads`` threads; ``thread_efficiency`` (and, in proportion, its
    out-of-cache value) from tiles that ``threads`` workers share, with the hand-off taken out."""

    def pair_gain(shapes) -> float:
        gains = []
        for shape in shapes:
            t = []
            for n in (1, threads):
                pair = _fftw.TransformPair((), shape, True, np.dtype(np.float64), n, "measure", None)
                pair.data[...] = rng.standard_normal(pair.data.shape)
                t.append(typical_time(lambda p=pair: (p.forward(), p.inverse()), budget))
            gains.append(_thread_gain(t[0], t[1], threads))
        bar.update()
        return statistics.median(gains)

    multi = pair_gain([(512, 512)] if quick else [(256, 256), (512, 512), (64, 64, 64)])
    one_d = pair_gain([(65536,)] if quick else [(65536,), (262144,)])
    gains = []
    tile_cases = [((512, 512), (5, 5), 64), ((1024, 1024), (9, 9), 128)]  # rows cut into tiles
    for s1, s2, rows in tile_cases[:1] if quick else tile_cases:
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        windows = [output_window(p, q, "same") for p, q in zip(s1, s2)]
        tile = (rows, whole_fft_shape(s1, s2, windows, True)[1])
        layout = make_layout(s1, s2, windows, tile, (True, False))
        out = np.empty(s1)
        t1, tn = (typical_time(lambda n=n, a=a, b=b, o=out, lay=layout: convolve_spectral(a, b, o, lay, n),
                               budget) for n in (1, threads))
        busiest = busiest_share(layout.tiles, min(threads, layout.tiles))
        gains.append(_thread_gain(t1 * busiest + fitted.thread_dispatch, tn, threads))
    bar.update()
    tiles = statistics.median(gains)
    return dataclasses.replace(
        fitted, fft_thread_efficiency=multi, fft_thread_efficiency_1d=one_d, thread_efficiency=tiles,
        thread_efficiency_out_of_cache=min(
            tiles, fitted.thread_efficiency_out_of_cache * tiles / fitted.thread_efficiency),
    )


def tune(quick: bool = False, threads: int = 1, progress: bool = True) -> TuneResult:
    """Measure this machine and fit a `CostModel` (the current one is the starting point).

    Every cost is measured on one thread; with ``threads`` > 1, what that many threads gain
    (FFTW's own, and workers sharing tiles) is measured too, and the validation runs on them.
    Takes about 40 s (``quick``: under 20 s); ``fftconv tune`` runs it from the command line
    and ``tests/test_tune.py`` runs it on a tiny grid.
    """
    from tqdm.auto import tqdm

    started = time.perf_counter()
    old = config.get().costs
    rng = np.random.default_rng(0)
    budget = 0.03 if quick else 0.25
    fft_cases = _fft_cases(quick)
    spectral_cases = _spectral_cases(quick)
    # kernel rows longer than ROW_MAX_TAPS run in scipy.ndimage's loop, shorter ones as rows
    ndimage_cases = [((1024, 1024), (1, 13)), ((256, 256), (15, 15)), ((512, 512), (13, 13)),
                     ((128, 128), (31, 31))]
    rows_cases = [((512, 512), (3, 3)), ((1024, 1024), (5, 5)), ((256, 256), (9, 9)),
                  ((256, 256), (3, 3)), ((512, 512), (11, 11))]
    direct_cases = ndimage_cases + rows_cases
    direct_1d = [((8192,), (31,)), ((65536,), (101,))]
    generic = [((256, 256), (5, 5))]
    separable_cases = [((1024, 1024), 13), ((2048, 2048), 31)][: 1 if quick else 2]
    validation = _validation_cases(quick)
    steps = len(fft_cases) + len(spectral_cases) + len(direct_cases) + len(direct_1d) + len(generic)
    steps += len(separable_cases) + (_THREAD_STEPS if threads > 1 else 0)
    steps += len(validation)
    bar = tqdm(total=steps, desc="fftconv tune", disable=not progress, unit="step")

    # 1. transforms
    fft_meas = []
    for shape, dtype in fft_cases:
        dt = np.dtype(dtype)
        real = dt.kind != "c"
        base = dt.type(0).real.dtype
        pair = _fftw.TransformPair((), shape, real, base if real else dt, 1, "measure", None)
        pair.data[...] = rng.standard_normal(pair.data.shape)

        def run(pair=pair):
            pair.forward()
            pair.inverse()

        fft_meas.append((shape, dtype, typical_time(run, budget) / 2))
        bar.update()
    unit = dataclasses.replace(old, fft_point_log=1.0, fft_point=0.0, fft_out_of_cache=1.0,
                               single_factor=1.0, complex_factor=1.0, fft_rank3_factor=1.0)

    def nbytes(s, d):  # what the cost model's cache factor looks at
        dt = np.dtype(d)
        return int(np.prod(s)) * dt.itemsize * (1 if dt.kind != "c" else 2)

    def in_cache(s, d):
        return nbytes(s, d) <= old.cache_bytes / 4

    def out_of_cache(s, d):
        return nbytes(s, d) >= old.cache_bytes

    def plain(s, d):  # real double in-cache 1-D or 2-D transforms
        return d == "float64" and in_cache(s, d) and len(s) <= 2

    def power_of_two(s) -> bool:
        n = math.prod(s)
        return n & (n - 1) == 0

    def fit_transforms() -> CostModel:
        """Per-point cost ``a log2(N) + b`` on real double in-cache power-of-two transforms
        (both terms: a log-only fit overprices the small transforms of tiles against whole
        arrays), then the weights of radices 3, 5 and 7, then the 3-D, out-of-cache, single and
        complex factors as median ratios."""
        base = [(math.prod(s), t) for s, d, t in fft_meas if plain(s, d) and power_of_two(s)]
        A = np.array([[math.log2(n), 1.0] for n, _ in base])
        y = np.array([t / n for n, t in base])
        (a, b), _ = scipy.optimize.nnls(A / y[:, None], np.ones(len(y)))  # relative errors
        model = dataclasses.replace(unit, fft_point_log=max(a, 1e-13), fft_point=b)
        # the radix weights jointly (a length's excess cost is shared by its radices): the
        # grid point with the least squared log error over the lengths with odd factors
        odd = [(s, d, t) for s, d, t in fft_meas if plain(s, d) and not power_of_two(s)]
        if odd:
            grid = [w / 4 for w in range(4, 17)]  # 1.0 .. 4.0

            def error(weights) -> float:
                m = dataclasses.replace(model, radix3=weights[0], radix5=weights[1], radix7=weights[2])
                return sum(math.log(_fft_prediction(m, s, d) / t) ** 2 for s, d, t in odd)

            best = min(itertools.product(grid, repeat=3), key=error)
            model = dataclasses.replace(model, radix3=best[0], radix5=best[1], radix7=best[2])

        def ratios(select):
            return [t / _fft_prediction(model, s, d) for s, d, t in fft_meas if select(s, d)]

        rank3 = ratios(lambda s, d: d == "float64" and in_cache(s, d) and len(s) >= 3)
        model = dataclasses.replace(model, fft_rank3_factor=statistics.median(rank3) if rank3 else 1.0)
        out = ratios(lambda s, d: d == "float64" and out_of_cache(s, d))
        single = ratios(lambda s, d: d == "float32" and in_cache(s, d))
        cplx = ratios(lambda s, d: d == "complex128" and in_cache(s, d))
        return dataclasses.replace(
            old, fft_point_log=model.fft_point_log, fft_point=model.fft_point,
            radix3=model.radix3, radix5=model.radix5, radix7=model.radix7,
            fft_rank3_factor=model.fft_rank3_factor,
            fft_out_of_cache=statistics.median(out) if out else old.fft_out_of_cache,
            single_factor=statistics.median(single) if single else old.single_factor,
            complex_factor=statistics.median(cplx) if cplx else old.complex_factor,
        )

    fitted = fit_transforms()

    # 2. whole spectral convolutions: the rest is copies, per-tile and per-call overhead
    rows, measured, spectral_meas = [], [], []
    no_overhead = dataclasses.replace(fitted, copy_point=1e-30, copy_point_cached=1e-30, copy_row=0.0,
                                      tile_overhead=1e-30, call_overhead=1e-30)
    for s1, s2, mode, method in spectral_cases:
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        windows = tuple(output_window(p, q, mode) for p, q in zip(s1, s2))
        if isinstance(method, tuple):  # a fixed tile shape, run on the executor itself
            layout = make_layout(s1, s2, windows, method, (True,) * len(s1))
            out = np.empty([w.length for w in windows])
            t = typical_time(
                lambda a=a, b=b, o=out, lay=layout: convolve_spectral(a, b, o, lay, 1), budget
            )
            fft_shape, tiles = method, layout.tiles
            fft_part = _spectral_seconds(
                fft_shape, tiles, 1, np.dtype(np.float64), True, 1, no_overhead,
                operand_bytes(s1, windows, 1, np.float64),
            )
        else:
            t = typical_time(
                lambda a=a, b=b, m=method, md=mode: convolve(a, b, md, m, threads=1), budget
            )
            plan = make_plan(tuple(s1), tuple(s2), windows, (), np.dtype(np.float64), 1, method,
                             costs=fitted)
            fft_shape, tiles = plan.fft_shape, plan.tiles
            fft_part = _spectral_prediction(no_overhead, s1, s2, mode, method)
        points = int(np.prod(fft_shape))
        streamed = fitted.memory_ramp(operand_bytes(s1, windows, 1, np.float64))
        rows.append([points * tiles * streamed, points * tiles * (1 - streamed) + points,
                     copied_rows(fft_shape) * tiles, tiles, 1.0])
        measured.append(t - fft_part)
        spectral_meas.append((s1, s2, mode, method, t))
        bar.update()
    A, y = np.array(rows), np.array(measured)
    weights = 1.0 / np.array([m for *_, m in spectral_meas])  # relative errors matter
    coef, _ = scipy.optimize.nnls(A * weights[:, None], y * weights)
    fitted = dataclasses.replace(
        fitted,
        copy_point=max(coef[0], 1e-11),
        copy_point_cached=max(coef[1], 1e-12),
        copy_row=coef[2],
        tile_overhead=max(coef[3], 1e-7),
        call_overhead=max(coef[4], 1e-6),
    )

    # 3. direct sums
    def direct_times(cases, dtype):
        """(image shape, kernel shape, windows, seconds beyond the call overhead) per case."""
        rows = []
        for s1, s2 in cases:
            a = rng.standard_normal(s1).astype(dtype)
            b = rng.standard_normal(s2).astype(dtype)
            t = typical_time(lambda a=a, b=b: convolve(a, b, "same", "direct", threads=1), budget)
            windows = [output_window(p, q, "same") for p, q in zip(s1, s2)]
            rows.append((s1, s2, windows, t - fitted.call_overhead))
            bar.update()
        return rows

    def direct_scale(cases) -> float:
        """Median ratio of measured to predicted (built-in proportions) float64 direct time:
        with mostly multiply-adds in every case, a fit of each term may drop the smaller ones."""
        return statistics.median(
            t / (_direct_seconds(s1, s2, windows, 1, np.float64, old) - old.call_overhead)
            for s1, s2, windows, t in direct_times(cases, np.float64)
        )

    # scipy.ndimage's loop: cost per output (its line buffers) and per multiply-add, one ratio
    nd_scale = direct_scale(ndimage_cases)
    # kernel rows: cost per point, per point and tap, per round of calls, one ratio
    rows_scale = direct_scale(rows_cases)
    fitted = dataclasses.replace(fitted, row_point=old.row_point * rows_scale,
                                 row_tap=old.row_tap * rows_scale, row_call=old.row_call * rows_scale)
    def per_mac(cases, dtype) -> float:
        return statistics.median(t / direct_macs(s1, s2, w) for s1, s2, w, t in direct_times(cases, dtype))

    one_d = per_mac(direct_1d, np.float64)
    fitted = dataclasses.replace(fitted, direct_point=old.direct_point * nd_scale,
                                 direct_mac=old.direct_mac * nd_scale, direct_mac_1d=max(one_d, 1e-13))
    gen = per_mac(generic, np.int64)
    fitted = dataclasses.replace(fitted, direct_generic=max(gen / fitted.direct_mac, 1.0))

    # 4. separable passes: what copies and calls do not explain is the matrix products
    def gemm_ratio(dtype) -> float:
        ratios = []
        for s1, k in separable_cases:
            a = rng.standard_normal(s1).astype(dtype)
            b = np.multiply.outer(*[np.hanning(k + 2)[1:-1]] * len(s1)).astype(dtype)
            t = typical_time(lambda a=a, b=b: convolve(a, b, "same", "separable", threads=1), budget)
            windows = tuple(output_window(p, k, "same") for p in s1)
            plan = make_plan(tuple(s1), (k,) * len(s1), windows, (), np.dtype(dtype), 1, "separable",
                             costs=dataclasses.replace(fitted, gemm_mac=0.0), separable=True)
            with_one = make_plan(tuple(s1), (k,) * len(s1), windows, (), np.dtype(dtype), 1,
                                 "separable", costs=dataclasses.replace(fitted, gemm_mac=1.0), separable=True)
            macs = with_one.estimates["separable"] - plan.estimates["separable"]
            ratios.append((t - plan.estimates["separable"]) / macs)
            bar.update()
        return statistics.median(ratios)

    gemm64 = gemm_ratio(np.float64)  # float32's ratio is not fitted: too few of its products
    if gemm64 > 0:  # remain once its (halved) copies are taken out to be told apart
        fitted = dataclasses.replace(fitted, gemm_mac=gemm64)

    # 5. what more threads gain here (the steps above ran on one)
    if threads > 1:
        fitted = _fit_threads(fitted, threads, 0.03 if quick else 0.15, quick, rng, bar)

    # fit quality and regret, old coefficients against new
    fit_error = {}
    for name, costs in (("old", old), ("new", fitted)):
        fit_error[f"fft {name}"] = _log_error(
            [_fft_prediction(costs, s, d) for s, d, _ in fft_meas], [t for *_, t in fft_meas])
        fit_error[f"spectral {name}"] = _log_error(
            [_spectral_prediction(costs, s1, s2, mode, m) for s1, s2, mode, m, _ in spectral_meas
             if not isinstance(m, tuple)],
            [t for *_, m, t in spectral_meas if not isinstance(m, tuple)])
    regret_old, regret_new = [], []
    for s1, s2, mode in validation:
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        windows = tuple(output_window(p, q, mode) for p, q in zip(s1, s2))
        times = {}
        for m in ("direct", "fft", "tiled"):
            est = make_plan(tuple(s1), tuple(s2), windows, (), np.dtype(np.float64), threads, "auto",
                            costs=fitted).estimates
            if est[m] > 20 * min(est.values()) and est[m] > 1.0:
                continue  # hopeless: cannot be the fastest
            times[m] = typical_time(
                lambda a=a, b=b, m=m, md=mode: convolve(a, b, md, m, threads=threads), budget
            )
        best = min(times.values())
        for costs, out in ((old, regret_old), (fitted, regret_new)):
            chosen = make_plan(tuple(s1), tuple(s2), windows, (), np.dtype(np.float64), threads, "auto",
                               costs=costs).method
            out.append(times.get(chosen, math.inf) / best)
        bar.update()
    bar.close()
    return TuneResult(old, fitted, fit_error, regret_old, regret_new, time.perf_counter() - started)


def costs_table(costs: CostModel) -> dict[str, float]:
    """The coefficients as a TOML-ready table.

    Examples
    --------
    >>> from fftconv._costs import DEFAULT_COSTS
    >>> costs_table(DEFAULT_COSTS)["longdouble_factor"]
    12.0
    """
    return {f.name: getattr(costs, f.name) for f in dataclasses.fields(CostModel)}


def write_costs(costs: CostModel, path: Path) -> None:
    """Merge ``[planner.costs]`` into the TOML file at ``path`` (created if missing).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from fftconv._costs import DEFAULT_COSTS
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "fftconv.toml"
    >>> write_costs(DEFAULT_COSTS, p); "[planner.costs]" in p.read_text()
    True
    """
    import tomli_w

    from .config import tomllib

    data = {}
    if path.exists():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    data.setdefault("planner", {})["costs"] = costs_table(costs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(path)
    config.load(path)  # what we wrote must read back


def report(result: TuneResult) -> str:
    """Plain-text summary of a tuning run (see ``tests/test_tune.py`` for one)."""
    lines = [f"measured in {result.seconds:.1f} s", "", f"{'coefficient':<18} {'before':>12} {'after':>12}"]
    old, new = costs_table(result.old), costs_table(result.new)
    for key in old:
        lines.append(f"{key:<18} {old[key]:>12.4g} {new[key]:>12.4g}")
    lines.append("")
    lines.append("fit error (median |log(predicted/measured)|; 0.10 is ~10 %):")
    for key, value in result.fit_error.items():
        lines.append(f"  {key:<14} {value:.3f}")
    for label, regret in (("before", result.regret_old), ("after", result.regret_new)):
        finite = [r for r in regret if math.isfinite(r)]
        lines.append(
            f"planner regret {label:<6}: median {statistics.median(finite):.3f}, max {max(regret):.3f}"
            f" over {len(regret)} validation cases"
        )
    return "\n".join(lines)
