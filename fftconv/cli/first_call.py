"""One first call, timed in the process that makes it: ``python -m fftconv.cli.first_call
CASE WHO [--warm] [--loop N] [--settle]`` (WHO: 'fftconv' or 'scipy'), for ``fftconv bench
--suite first-calls`` and ``bench/fresh_grid.py``, which run this file as a script (`command`).

The process imports only the library under test, builds the case's operands, then times
the first call, the second call, with ``--loop N`` the median and the sum of the N calls
after them (what a loop meets while fftconv's background work runs) and, with ``--warm`` (fftconv), a
warm call once that work (FFTW's measured plans of sizes that repeat, calibration) is done;
``--settle`` (fftconv) then calls on until the case's trial is decided and its verdict saved,
as a script's earlier run leaves the machine (`bench/fresh_grid.py --rerun`).
CASE is a name of `CASES` (or of `WITH_SCIPY_IMPORTED`: the script imported scipy.signal and
scipy.ndimage first) or a case as JSON (``'["convolve", [300, 300], [17, 17], "same",
"float64"]'``). It prints one JSON line. Imports are not timed: a script pays them once,
whatever it calls.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: How long the warm call waits for the background work (a 1-D transform of millions of points
#: takes FFTW's MEASURE tens of seconds).
WARM_WAIT_SECONDS = 300.0
#: ``--settle``: at most this many calls until the plans settle (`fftconv.timing.settle`).
SETTLE_CALLS = 400

#: name -> (what is called, image shape, kernel shape, mode, dtype): the cases of issue 19's
#: table, then 3-D, ndimage, mid-size, small and tiny ones.
CASES: dict[str, tuple[str, tuple[int, ...], tuple[int, ...], str, str]] = {
    "correlate 2,000,000 x 2,000,000 full": ("correlate", (2_000_000,), (2_000_000,), "full", "float64"),
    "convolve 1,000,003 x 5,001 same": ("convolve", (1_000_003,), (5_001,), "same", "float64"),
    "convolve 1000x1000 x 101x101 full": ("convolve", (1000, 1000), (101, 101), "full", "float64"),
    "fftconvolve 3000x2000 x 15x15 same": ("fftconvolve", (3000, 2000), (15, 15), "same", "float64"),
    "convolve 4096x4096 x 31x31 same f32": ("convolve", (4096, 4096), (31, 31), "same", "float32"),
    "ndimage.convolve 2048x2048 x 25x25 f32": ("ndimage.convolve", (2048, 2048), (25, 25), "reflect",
                                               "float32"),
    "convolve 128^3 x 7^3 same": ("convolve", (128, 128, 128), (7, 7, 7), "same", "float64"),
    "fftconvolve 96^3 x 15^3 full f32": ("fftconvolve", (96, 96, 96), (15, 15, 15), "full", "float32"),
    "ndimage.convolve 1024x1024 x 9x9": ("ndimage.convolve", (1024, 1024), (9, 9), "reflect", "float64"),
    "ndimage.correlate 64^3 x 5^3 f32": ("ndimage.correlate", (64, 64, 64), (5, 5, 5), "nearest", "float32"),
    "convolve 100,000 x 2,001 full": ("convolve", (100_000,), (2_001,), "full", "float64"),
    "convolve 600x500 x 41x41 same": ("convolve", (600, 500), (41, 41), "same", "float64"),
    "convolve 256x256 x 5x5 same f32": ("convolve", (256, 256), (5, 5), "same", "float32"),
    "fftconvolve 5,000 x 300 full": ("fftconvolve", (5_000,), (300,), "full", "float64"),
    "convolve 4x4 x 2x2 full": ("convolve", (4, 4), (2, 2), "full", "float64"),
    "convolve2d 16x16 x 3x3 same": ("convolve2d", (16, 16), (3, 3), "same", "float64"),
    "ndimage.correlate 16x16 x 3x3": ("ndimage.correlate", (16, 16), (3, 3), "reflect", "float64"),
    # scipy.ndimage's separable filters: the second shape holds their parameters (sigma, size)
    "ndimage.gaussian_filter 48x48 sigma 1": ("ndimage.gaussian_filter", (48, 48), (1,), "reflect",
                                              "float64"),
    "ndimage.gaussian_filter 256x256 sigma 2": ("ndimage.gaussian_filter", (256, 256), (2,), "reflect",
                                                "float64"),
    "ndimage.uniform_filter 512x512 size 5 f32": ("ndimage.uniform_filter", (512, 512), (5,), "nearest",
                                                  "float32"),
    "ndimage.laplace 256x256": ("ndimage.laplace", (256, 256), (), "reflect", "float64"),
    "ndimage.gaussian_filter 2048x2048 sigma 4 f32": ("ndimage.gaussian_filter", (2048, 2048), (4,), "mirror",
                                                      "float32"),
}
#: The functions of `CASES` whose second shape holds their parameters rather than a kernel's.
FILTERS = ("ndimage.gaussian_filter", "ndimage.uniform_filter", "ndimage.laplace", "ndimage.sobel",
           "ndimage.gaussian_filter1d", "ndimage.uniform_filter1d")

#: Cases also timed where the script imported scipy.signal and scipy.ndimage itself before its
#: first call (as a script that uses both libraries has): the tiny routes then have scipy's
#: modules at hand, and fftconv's spectra take scipy.fft's transforms.
WITH_SCIPY_IMPORTED: dict[str, str] = {
    f"{case}, scipy imported": case
    for case in ("convolve 4x4 x 2x2 full", "convolve2d 16x16 x 3x3 same", "ndimage.correlate 16x16 x 3x3",
                 "convolve 600x500 x 41x41 same", "ndimage.gaussian_filter 48x48 sigma 1",
                 "ndimage.gaussian_filter 256x256 sigma 2", "ndimage.laplace 256x256")
}


def command(case: str, who: str, *options: str) -> list[str]:
    """The arguments of ``python`` that time ``case`` by ``who`` in a new process: this file
    run as a script, so that scipy's process never imports the fftconv package (``python -m
    fftconv.cli.first_call`` would: its import adapts the C heap, `fftconv.heap`, which made
    scipy's own calls up to 2x faster than a script importing only scipy meets them).

    Examples
    --------
    >>> command("convolve 4x4 x 2x2 full", "scipy", "--loop", "5")[2:]
    ['convolve 4x4 x 2x2 full', 'scipy', '--loop', '5']
    """
    here = str(Path(__file__).resolve())
    return ["-c", f"import runpy; runpy.run_path({here!r}, run_name='__main__')", case, who, *options]


def function(name: str, who: str) -> Callable[..., np.ndarray]:
    """The function ``name`` ('convolve', 'ndimage.convolve', ...) of ``who``'s library."""
    if who == "fftconv":
        import fftconv
        import fftconv.ndimage

        signal, ndimage = fftconv, fftconv.ndimage
    else:
        import scipy.ndimage
        import scipy.signal

        signal, ndimage = scipy.signal, scipy.ndimage
    module = ndimage if name.startswith("ndimage.") else signal
    return getattr(module, name.removeprefix("ndimage."))


def run(case: str, who: str, warm: bool = False, loop: int = 0, settle: bool = False) -> dict[str, object]:
    """Time ``case``'s first and second calls by ``who``, the median of the ``loop`` calls
    after them and, with ``warm``, a call once the background work is done; with ``settle``,
    call on until the plans settle (`fftconv.timing.settle`), then wait for the background
    work (the trial's verdict is written there)."""
    name, shape1, shape2, mode, dtype = resolve(case)
    if case in WITH_SCIPY_IMPORTED:
        import scipy.ndimage  # noqa: F401 - the script's own imports
        import scipy.signal  # noqa: F401
    func = function(name, who)
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape1).astype(dtype)
    if name in FILTERS:
        def call():
            return func(a, *shape2, mode=mode)
    elif name.startswith("ndimage."):
        b = rng.standard_normal(shape2).astype(dtype)

        def call():
            return func(a, b, mode=mode)
    else:
        b = rng.standard_normal(shape2).astype(dtype)

        def call():
            return func(a, b, mode)
    times = []
    for _ in range(2):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    result: dict[str, object] = {"case": case, "who": who, "first_s": times[0], "second_s": times[1]}
    if loop:
        looped = []
        for _ in range(loop):
            started = time.perf_counter()
            call()
            looped.append(time.perf_counter() - started)
        result["loop_s"] = statistics.median(looped)
        result["loop_total_s"] = sum(looped)
    if warm and who == "fftconv":
        from fftconv import background

        result["background_done"] = background.wait(WARM_WAIT_SECONDS)
        warm = []
        for _ in range(3):
            started = time.perf_counter()
            call()
            warm.append(time.perf_counter() - started)
        result["warm_s"] = min(warm)
    if settle and who == "fftconv":
        from fftconv import background
        from fftconv.timing import settle as settle_calls

        result["settle_calls"] = settle_calls(call, SETTLE_CALLS)
        result["background_done"] = background.wait(WARM_WAIT_SECONDS)  # the verdict written
    return result


def resolve(case: str) -> tuple[str, tuple[int, ...], tuple[int, ...], str, str]:
    """``case`` as `CASES` holds one: a name of it, or a case as JSON; ValueError if neither.

    Examples
    --------
    >>> resolve('["convolve", [300, 300], [17, 17], "same", "float64"]')[1]
    (300, 300)
    """
    if case in CASES or case in WITH_SCIPY_IMPORTED:
        return CASES[WITH_SCIPY_IMPORTED.get(case, case)]
    try:
        spec = json.loads(case)
    except ValueError:
        spec = None
    if not (isinstance(spec, list) and len(spec) == 5 and isinstance(spec[0], str)):
        raise ValueError(f"case {case!r} is neither a named case nor a JSON case "
                         '(["convolve", [300, 300], [17, 17], "same", "float64"])')
    name, shape1, shape2, mode, dtype = spec
    return name, tuple(shape1), tuple(shape2), mode, dtype


def main(argv: list[str] | None = None) -> dict[str, object]:
    """The command line: ``CASE WHO [--warm] [--loop N] [--settle]``."""
    parser = argparse.ArgumentParser(prog="python -m fftconv.cli.first_call",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("case", help="a name of CASES, or a case as JSON")
    parser.add_argument("who", choices=("fftconv", "scipy"))
    parser.add_argument("--warm", action="store_true",
                        help="also time a call once the background work is done")
    parser.add_argument("--loop", type=int, default=0, metavar="N", help="also the median of N more calls")
    parser.add_argument("--settle", action="store_true",
                        help="then call on until the case's trial is decided and its verdict saved")
    args = parser.parse_args(argv)
    try:
        resolve(args.case)
    except ValueError as exc:
        parser.error(str(exc))
    return run(args.case, args.who, args.warm, max(args.loop, 0), args.settle)


if __name__ == "__main__":
    print(json.dumps(main()))
