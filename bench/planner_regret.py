"""Issue [2/7] acceptance: planner regret and fftconv vs the best scipy function, one run.

Usage: python bench/planner_regret.py [--threads 1] [--json PATH] [--cases N]
       [--suite general|small-kernels|mid-sizes|separable] [--seed S] [--loop mixed|tight]

For every case of a grid (1-D, 2-D, 3-D; image 64..8192 per side; kernels 3..511; all modes;
float32/float64/complex128) it times, interleaved and thread-matched:

* fftconv with each method forced (direct, fft, tiled) and with 'auto';
* scipy.signal.convolve (auto), fftconvolve, oaconvolve, and scipy.ndimage.convolve where it
  computes the same thing ('same' mode, odd real kernel);
* scipy.signal.convolve with method='direct' and 'fft' (for scipy's own choose_conv_method regret).

``--suite small-kernels``: 2-D float32 and float64 images of 256² to 2048² (non-powers of two
included) with kernels 3x3 to 15x15, 'same' mode, fftconv's own methods only (the regret does
not need the peers). Run it from an empty cache (``XDG_CACHE_HOME=$(mktemp -d)``) to plan
with first-use calibration, and with ``FFTCONV_CALIBRATE=off`` for the built-in defaults; the
first plan's time (which includes the calibration when nothing is cached) is reported.

``--suite mid-sizes``: a random grid of the everyday sizes scripts meet (seed printed; 48 cases
by default): 2-D images 48 to 720 per side with kernels 3 to 41, 1-D signals of 200 to 200,000
samples with kernels up to 4,000 taps, 3-D volumes 16 to 96 per side with kernels 3 to 11;
every mode, float32 and float64; scipy.signal.convolve2d joins the peers in 2-D.

``--suite separable``: a random grid (seed printed; 40 cases) of 2-D images 64 to 1500 per side
filtered by Gaussians of sigma 0.5 to 20 (``8 sigma + 1`` taps a side, rank 1), every mode,
float32 and float64, fftconv's own methods with 'separable' among them. Beside the regret of
what auto keeps, ``model_regret`` is that of the cost model's own pick before any call (what a
first call runs where it plans in full): the separable passes' estimates are what it tests.
Where an earlier process kept a trial's verdict for the case (`fftconv.engine.verdicts`: a
second run of a seed), the plan before any call is that verdict; ``FFTCONV_VERDICTS=off``
gives the model's own pick and each case's trial again.

Every implementation is warmed up, then the background work those calls started (FFTW's
measured plans of sizes that repeat, calibration) is waited for, so that what is timed is
what a loop of such calls meets.

Regret = time of the method auto chooses / time of the fastest method (the forced calls of both;
'auto' runs the very same cached plan, unless the forced method picks another executor of that
method: ``auto_regret`` is the 'auto' call's own time over the fastest forced method's, at least
1). Where the cost model's estimates are too close to call,
auto times the contenders on its first repeated calls (fftconv.engine.trials); the script makes
those calls before timing (``trial_calls`` in the JSON), in the loop it then times, and reports
the kept choice, with the model's own choice beside it. A trial's contenders are not timed while
FFTW measures their transforms in the background (1-D lengths such as 3360 take it 1.3-2.6 s),
so where a trial is still open after 300 calls with the background at work, the script waits
for it and calls again (``background_waits``); a trial still open after that is named in the
summary (``trials_left_open``). ``--loop mixed`` (the default) times a
loop doing other work between its calls: every round calls each implementation once; ``--loop
tight`` a loop of one call alone: each implementation runs four calls a round, the first
untimed. The two differ where a method's speed depends on what ran before it (FFTW's threads
asleep or spinning, caches): a trial settled in one loop and judged in the other (as this
script did before) measured neither. The 'auto' call's own time is what is compared with
scipy. Methods whose estimated time is over 10x the best estimate and over 1 s are not run
(reported as skipped): they cannot be the fastest; nor, beyond one timed call, are those whose
one call took over 10x the quickest's (``timed_once``: scipy's direct sums of seconds, which
would otherwise cut the rounds to a handful). Medians of interleaved rounds (at least 7, up to
41 or ~0.5 s of work per implementation), in a fresh random order every round.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal

import fftconv
from fftconv.cli.bench import machine_info, report_summary, time_interleaved
from fftconv.engine import tiny

MODES = ("full", "same", "valid")
#: fftconv's methods timed forced beside auto.
METHODS = ("direct", "fft", "tiled")
#: Calls a function makes in a row in each round of the timing, by the loop timed (`--loop`):
#: 'mixed', a loop doing other work between its calls (each round calls every implementation
#: once, in a fresh order); 'tight', a loop of one call alone (the first of each streak untimed)
LOOP_STREAK = {"mixed": 1, "tight": 4}
#: Calls of 'auto' made before the rounds whatever the signature's plan: its first calls may run
#: a route rented until they have cost what planning costs, or until its transform size is final
#: (NumPy's transforms: 3927 * 3087 'same' float64 ran 37 calls at 150-180 us, then 70-90 on the
#: kept tiles; Intel Xeon). A trial's calls had hidden them; a signature planned from an earlier
#: process' verdict has none (`fftconv.engine.verdicts`), and its rounds timed the rented calls.
#: At most `AUTO_WARM_SECONDS` of them (rents last 1-20 ms; the general grid's calls take up to
#: a second).
AUTO_WARM_CALLS = 100
AUTO_WARM_SECONDS = 1.0
#: Calls of 'auto' after which a trial still open is left so (``trial_calls`` in the JSON) ...
MAX_TRIAL_CALLS = 300
#: ... unless the background is still at work (measuring the contenders' transforms): then the
#: loop waits for it and calls again, up to this many times (``background_waits`` in the JSON)
BACKGROUND_WAITS = 2
#: Implementations whose one timed call takes over this many times the quickest one's are not
#: run in the interleaved rounds (their one call is reported).
OUTPACED = 10.0


def grid() -> list[tuple[tuple[int, ...], tuple[int, ...], str, str]]:
    cases = []
    for n, k in [(64, 3), (1024, 31), (8192, 3), (8192, 101), (8192, 511)]:
        for mode in MODES:
            cases.append(((n,), (k,), mode, "float64"))
    for n, k, dtype in [(64, 3, "float64"), (64, 15, "float32"), (256, 5, "float64"),
                        (256, 31, "complex128"), (512, 3, "float32"), (1024, 5, "float64"),
                        (1024, 63, "float32"), (2048, 11, "float64"), (2048, 127, "float64"),
                        (4096, 31, "float32"), (4096, 255, "float64"), (8192, 9, "float32"),
                        (8192, 511, "float32")]:
        for mode in (("same", "full", "valid") if n <= 2048 else ("same",)):
            cases.append(((n, n), (k, k), mode, dtype))
    for n, k, dtype in [(64, 3, "float64"), (64, 9, "float32"), (128, 31, "float64")]:
        for mode in ("same", "full"):
            cases.append(((n, n, n), (k, k, k), mode, dtype))
    return cases


def mid_size_grid(seed: int, count: int = 48) -> list[tuple[tuple[int, ...], tuple[int, ...], str, str]]:
    """Random everyday sizes (the module docstring has the ranges), reproducible by ``seed``."""
    rng = np.random.default_rng(seed)

    def log_int(lo: int, hi: int) -> int:
        return int(round(float(np.exp(rng.uniform(np.log(lo), np.log(hi))))))

    cases = []
    for i in range(count):
        mode = MODES[i % 3]
        dtype = ("float32", "float64")[(i // 3) % 2]
        kind = i % 8
        if kind < 3:  # 1-D
            n = log_int(200, 200_000)
            k = log_int(3, min(4000, n))
            cases.append(((n,), (k,), mode, dtype))
        elif kind < 6:  # 2-D
            shape = (log_int(48, 720), log_int(48, 720))
            k = int(rng.integers(3, 42))
            kernel = (k, k) if rng.random() < 0.7 else (k, int(rng.integers(3, 42)))
            cases.append((shape, kernel, mode, dtype))
        else:  # 3-D
            shape = tuple(int(v) for v in rng.integers(16, 97, size=3))
            k = int(rng.integers(3, 12))
            cases.append((shape, (k, k, k), mode, dtype))
    return cases


def separable_grid(seed: int, count: int = 40) -> list[tuple[tuple[int, ...], tuple[int, ...], str, str]]:
    """Random images and Gaussian kernel sizes (the module docstring has the ranges), by ``seed``."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        shape = tuple(int(round(float(np.exp(rng.uniform(np.log(64), np.log(1500)))))) for _ in range(2))
        sigma = float(np.exp(rng.uniform(np.log(0.5), np.log(20))))
        k = min(2 * int(np.ceil(4 * sigma)) + 1, min(shape) | 1)
        cases.append((shape, (k, k), MODES[i % 3], ("float32", "float64")[(i // 3) % 2]))
    return cases


def gaussian(k: int) -> np.ndarray:
    """A normalised Gaussian of ``k`` taps a side (sigma an eighth of them), rank 1."""
    g = np.exp(-0.5 * ((np.arange(k) - k // 2) / max(k / 8, 0.5)) ** 2)
    return np.outer(g, g) / g.sum() ** 2


def small_kernel_grid() -> list[tuple[tuple[int, ...], tuple[int, ...], str, str]]:
    return [((n, n), (k, k), "same", dtype) for dtype in ("float32", "float64")
            for n in (256, 512, 1000, 2048) for k in (3, 5, 7, 9, 11, 15)]


def estimate_direct(s1, s2, mode) -> float:
    """Seconds a direct sum takes at ~0.5 ns per multiply-add (for skipping hopeless runs)."""
    out = [{"full": n + k - 1, "same": n, "valid": n - k + 1}[mode] for n, k in zip(s1, s2)]
    return 0.5e-9 * float(np.prod(out)) * float(np.prod(s2))


def implementations(a, b, mode, threads, peers=True, methods=METHODS):
    """(name, is fftconv, callable); scipy's FFT functions get ``threads`` workers through
    scipy.fft.set_workers (its direct sums and ndimage have no threads)."""
    real = a.dtype.kind != "c"
    yield "auto", True, lambda: fftconv.convolve(a, b, mode, threads=threads)
    for m in methods:
        yield m, True, lambda m=m: fftconv.convolve(a, b, mode, m, threads=threads)
    if not peers:
        return

    def matched(func, *args, **kwargs):
        def call():
            with scipy.fft.set_workers(threads):
                return func(*args, **kwargs)
        return call

    yield "scipy.convolve", False, matched(scipy.signal.convolve, a, b, mode)
    yield "scipy.direct", False, matched(scipy.signal.convolve, a, b, mode, method="direct")
    yield "scipy.fftconvolve", False, matched(scipy.signal.fftconvolve, a, b, mode)
    yield "scipy.oaconvolve", False, matched(scipy.signal.oaconvolve, a, b, mode)
    if a.ndim == 2:
        yield "scipy.convolve2d", False, matched(scipy.signal.convolve2d, a, b, mode)
    if mode == "same" and real and all(k % 2 for k in b.shape):
        yield "scipy.ndimage", False, matched(scipy.ndimage.convolve, a, b, mode="constant")


def run_case(s1, s2, mode, dtype, threads, peers=True, loop="mixed", separable=False):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(s1)
    b = gaussian(s2[0]) if separable else rng.standard_normal(s2)
    methods = (*METHODS, "separable") if separable else METHODS
    if dtype == "complex128":
        a = a + 1j * rng.standard_normal(s1)
        b = b + 1j * rng.standard_normal(s2)
    a, b = a.astype(dtype), b.astype(dtype)
    model = fftconv.plan(a, b, mode, threads=threads)  # the cost model's choice, before any call
    best_estimate = min(model.estimates.values())
    plan = model
    direct_guess = estimate_direct(s1, s2, mode)
    funcs, skipped = {}, {}
    for name, ours, func in implementations(a, b, mode, threads, peers, methods):
        guess = plan.estimates.get(name) if ours and name != "auto" else None
        scipy_direct = scipy.signal.choose_conv_method(a, b, mode) == "direct"
        if name in ("scipy.direct", "scipy.ndimage", "scipy.convolve2d") or (
                name == "scipy.convolve" and scipy_direct):
            guess = direct_guess * (3 if name != "scipy.ndimage" else 1)
        if guess is not None and guess > 10 * best_estimate and guess > 1.0:
            skipped[name] = guess
            continue
        funcs[name] = func
    for func in funcs.values():  # warm-up (plans, caches), twice: sizes that repeat are measured
        func()
        func()
    warming = time.perf_counter()
    for _ in range(AUTO_WARM_CALLS):
        funcs["auto"]()
        if time.perf_counter() - warming > AUTO_WARM_SECONDS:
            break
    fftconv.background.wait(600)  # ... in the background; what a loop meets once they are ready
    trial_calls = 0  # estimates too close to call: the repeated calls time the contenders ...
    # ... unless the auto call takes a tiny route (fftconv.engine.tiny), which runs no plan
    tiny_routed = (a.ndim == 1
                   and tiny.signal_1d(a, b, mode, "auto", None, threads, first_sight=False) is not None)

    background_waits = 0

    def trial_open() -> bool:
        nonlocal trial_calls, background_waits
        if tiny_routed or fftconv.plan(a, b, mode, threads=threads).trial is None:
            return False
        busy = not fftconv.background.idle()
        if trial_calls >= MAX_TRIAL_CALLS and background_waits < BACKGROUND_WAITS and busy:
            # the contenders' runs are not timed while FFTW measures their sizes (a 1-D
            # transform of 3360 points takes FFTW 1.3-2.6 s to measure): wait, then go on
            fftconv.background.wait(600)
            background_waits += 1
            trial_calls = 0
        return trial_calls < MAX_TRIAL_CALLS

    while loop == "tight" and trial_open():  # ... in the loop the rounds then time
        funcs["auto"]()
        trial_calls += 1
    once = {}
    for name, func in funcs.items():
        # fftconv's own calls (milliseconds) are timed twice: one call stalled by the VM, or
        # taking up plans measured meanwhile, made a forced 'fft' leave the rounds at 8.7-12.7 ms,
        # 14x its time (98x487 * 39x30 'full' float32, 2 threads)
        calls = 1 if name.startswith("scipy.") else 2
        for _ in range(calls):
            started = time.perf_counter()
            func()
            once[name] = min(once.get(name, np.inf), time.perf_counter() - started)
    # a call over 10x the quickest cannot be the fastest: timed once, it leaves the rounds,
    # which it would otherwise cut to a few (scipy's direct sums take seconds here)
    outpaced = {name: t for name, t in once.items() if t > OUTPACED * min(once.values()) and name != "auto"}
    timed = {name: func for name, func in funcs.items() if name not in outpaced}
    shuffle = np.random.default_rng(2)
    names = list(timed)
    while loop == "mixed" and trial_open():
        for i in shuffle.permutation(len(names)):
            timed[names[i]]()
            trial_calls += names[i] == "auto"
    plan = fftconv.plan(a, b, mode, threads=threads)
    times = time_interleaved(timed, 7, 41, seconds=0.5 * len(timed), streak=LOOP_STREAK[loop])
    rounds = len(next(iter(times.values())))
    med = {name: statistics.median(v) for name, v in times.items()} | outpaced
    ours = {m: med[m] for m in methods if m in med}
    best_ours = min(ours, key=ours.get)
    chosen = plan.method
    # the auto call runs exactly the chosen method's plan (same cached Plan, same executor), so
    # its regret is the chosen method's time over the fastest's, all timed the same way; a 1-D
    # call small enough for a tiny route (numpy.convolve or fftconv's tiny loop: fftconv.engine.tiny)
    # runs no plan: its own time counts
    if tiny_routed:
        chosen = "tiny"
    regret = ours.get(chosen, med["auto"]) / ours[best_ours]
    # ... and what the 'auto' call itself cost over the fastest forced method: where the forced
    # method runs another executor of that method than auto's kept one, the two differ
    auto_regret = max(med["auto"] / ours[best_ours], 1.0)
    model_regret = ours[model.method] / ours[best_ours] if model.method in ours else None
    row = {
        "case": f"{'x'.join(map(str, s1))} * {'x'.join(map(str, s2))} {mode} {dtype}",
        "chosen": chosen, "executor": plan.executor, "model_choice": model.executor,
        "trial_calls": trial_calls, "background_waits": background_waits,
        "trial_left_open": plan.trial.describe() if plan.trial is not None and not tiny_routed else None,
        "fastest": best_ours, "regret": regret, "auto_regret": auto_regret, "model_regret": model_regret,
        "median_s": med, "skipped_estimates_s": skipped, "timed_once": sorted(outpaced), "rounds": rounds,
        "costs": plan.costs_source,
    }
    if not peers:
        return row
    scipy_choice = scipy.signal.choose_conv_method(a, b, mode)
    scipy_times = {"direct": med.get("scipy.direct"), "fft": med.get("scipy.fftconvolve")}
    known = {m: t for m, t in scipy_times.items() if t is not None}
    scipy_regret = (known[scipy_choice] / min(known.values())) if scipy_choice in known else None
    scipy_peers = {n: t for n, t in med.items() if n.startswith("scipy.") and n != "scipy.direct"}
    best_peer = min(scipy_peers, key=scipy_peers.get)
    return {**row, "scipy_choice": scipy_choice, "scipy_regret": scipy_regret,
            "best_scipy": best_peer, "vs_best_scipy": scipy_peers[best_peer] / med["auto"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    parser.add_argument("--cases", type=int, default=None, help="run only the first N cases")
    parser.add_argument("--suite", choices=("general", "small-kernels", "mid-sizes", "separable"),
                        default="general")
    parser.add_argument("--seed", type=int, default=None,
                        help="mid-sizes, separable: the grid's seed (default: random)")
    parser.add_argument("--loop", choices=tuple(LOOP_STREAK), default="mixed",
                        help="the loop timed: calls between other work (mixed), or alone (tight)")
    args = parser.parse_args()
    machine = machine_info(args.threads)
    machine["loop"] = args.loop
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    started = time.perf_counter()
    first = fftconv.plan((64, 64), (3, 3), threads=args.threads)
    first_plan = time.perf_counter() - started
    print(f"costs: {first.costs_source} (config: {fftconv.config.get().source}); first plan took "
          f"{first_plan:.2f} s\n")
    peers = args.suite not in ("small-kernels", "separable")
    if args.suite in ("mid-sizes", "separable"):
        seed = args.seed if args.seed is not None else int(np.random.default_rng().integers(1 << 31))
        print(f"{args.suite} grid, seed {seed}")
        machine["seed"] = seed
        cases = (mid_size_grid if args.suite == "mid-sizes" else separable_grid)(seed)
    else:
        cases = grid() if peers else small_kernel_grid()
    print(f"{'case':<42} {'auto':>6} {'fastest':>7} {'regret':>7}"
          + (f" {'scipy':>6} {'s.regret':>8} {'vs best scipy':>14}" if peers else ""))
    rows = []
    for s1, s2, mode, dtype in cases[: args.cases]:
        r = run_case(s1, s2, mode, dtype, args.threads, peers, args.loop, args.suite == "separable")
        rows.append(r)
        line = f"{r['case']:<42} {r['chosen']:>6} {r['fastest']:>7} {r['regret']:>7.2f}"
        if r["model_regret"] is not None:
            line += f"  model {r['model_regret']:.2f} ({r['model_choice']})"
        if peers:
            sr = f"{r['scipy_regret']:.2f}" if r["scipy_regret"] is not None else "n/a"
            line += (f" {r['scipy_choice']:>6} {sr:>8} {r['vs_best_scipy']:>7.2f}x"
                     f" ({r['best_scipy'].replace('scipy.', '')})")
        print(line, flush=True)
    regrets = [r["regret"] for r in rows]
    summary = {"cases": len(rows), "costs": first.costs_source, "first_plan_s": round(first_plan, 3),
               "regret_median": statistics.median(regrets), "regret_max": max(regrets),
               "auto_regret_max": max(r["auto_regret"] for r in rows),
               "model_regret_max": max((r["model_regret"] for r in rows if r["model_regret"] is not None),
                                       default=None),
               "model_worst": sorted(((round(r["model_regret"], 3), r["case"]) for r in rows
                                      if r["model_regret"] is not None), reverse=True)[:5],
               "worst": sorted(((round(r["regret"], 3), r["case"]) for r in rows), reverse=True)[:5],
               "trials_left_open": [f"{r['case']}: {r['trial_left_open']}"
                                    for r in rows if r["trial_left_open"]]}
    if peers:
        scipy_regrets = [r["scipy_regret"] for r in rows if r["scipy_regret"] is not None]
        vs = [r["vs_best_scipy"] for r in rows]
        summary.update({
            "scipy_regret_median": statistics.median(scipy_regrets), "scipy_regret_max": max(scipy_regrets),
            "vs_best_scipy_min": min(vs), "cases_below_0.95x_best_scipy": sum(v < 0.95 for v in vs),
        })
    report_summary(summary, machine, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
