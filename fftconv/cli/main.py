"""The ``fftconv`` command: ``bench`` (fftconv beside scipy), ``tune`` (fit this machine's
costs), ``plan`` (explain a choice) and ``filter`` (filter an image file, streaming big ones)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from .._version import __version__


def _shape(text: str) -> tuple[int, ...]:
    from ..core.problem import check_shape

    try:
        shape = tuple(int(p) for p in text.lower().replace("x", ",").split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 4096x4096") from None
    if not shape or any(n < 1 for n in shape):
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape of positive lengths")
    try:
        return check_shape(shape)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fftconv`` command."""
    from ..core.boundary import MODES
    from ..executors.registry import methods
    from .bench import BUILTIN_SUITES

    parser = argparse.ArgumentParser(
        prog="fftconv", description="Fast, exact-where-it-matters convolution on FFTW: benchmark it "
        "beside scipy (bench), fit its planner to this machine (tune), explain a choice (plan), "
        "filter image files (filter).")
    parser.add_argument("--version", action="version", version=f"fftconv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_bench(sub, BUILTIN_SUITES)
    _add_tune(sub)
    _add_plan(sub, methods(), MODES)
    _add_filter(sub, methods(), MODES)
    return parser


def _add_bench(sub, suites) -> None:
    bench = sub.add_parser("bench", help="time fftconv beside scipy on this machine")
    bench.add_argument("--suite", default="core", metavar="NAME|PATH",
                       help=f"a built-in suite ({', '.join(suites)}, first-calls, dask) or a "
                            "suite TOML file; first-calls: each case's first call in a fresh process beside "
                            "scipy's")
    bench.add_argument("--quick", action="store_true",
                       help="the 'quick' suite (25 s; about a minute on a machine where fftconv never ran, "
                            "which first measures the CPU and its FFT plans)")
    bench.add_argument("--threads", type=_positive, default=1, help="threads for every implementation")
    bench.add_argument("--rounds", type=_positive, default=None,
                       help="timed rounds per implementation (first-calls: fresh processes per case, "
                            "default 3)")
    bench.add_argument("--json", metavar="PATH", help="also write rows and machine info as JSON")
    bench.add_argument("--csv", metavar="PATH", help="also write one CSV line per case and implementation")
    bench.add_argument("--plot", metavar="PNG",
                       help="draw, per case, how many times faster fftconv ran than each peer (one "
                       "marker per peer, log scale; needs matplotlib)")
    bench.add_argument("--no-progress", action="store_true", help="no progress bar")
    cluster = bench.add_argument_group("the dask suite (--suite dask: fftconv.dask beside dask-image on a "
                                       "LocalCluster; needs fftconv[dask])")
    cluster.add_argument("--size", type=_positive, default=None,
                         help="side of the square float32 image (default 16384; 4096 with --quick)")
    cluster.add_argument("--chunk", type=_positive, default=None,
                         help="side of the square chunks (default 2048; 1024 with --quick)")
    cluster.add_argument("--kernels", type=_positive, nargs="+", default=[31, 9], metavar="K",
                         help="kernel sides (default 31 9)")
    cluster.add_argument("--workers", type=_positive, default=2, help="worker processes, one thread each")


def _add_tune(sub) -> None:
    tune = sub.add_parser("tune", help="measure this machine and fit the planner's cost model")
    tune.add_argument("--quick", action="store_true", help="fewer, shorter measurements (about 30 s)")
    tune.add_argument("--threads", type=_positive, default=None,
                      help="threads whose gain to measure (default: every core)")
    where = tune.add_mutually_exclusive_group()
    where.add_argument("--write", action="store_true", help="write the fit to the user config file")
    where.add_argument("--config", metavar="PATH", help="write the fit to this TOML file")
    tune.add_argument("--force", action="store_true",
                      help="write the fit even if its planner regret is worse than the current one's")
    tune.add_argument("--no-progress", action="store_true", help="no progress bar")


def _shape_or_kernel(text: str) -> tuple[int, ...] | str:
    """A kernel shape (``31x31``), or a kernel spec whose values are known (``gaussian:...``,
    ``box:...``, a .npy file: `fftconv.kernels.parse_spec` reads it later)."""
    if ":" in text or text.lower().endswith(".npy"):
        return text
    return _shape(text)


def _add_plan(sub, methods: tuple[str, ...], modes) -> None:
    explain = sub.add_parser("plan", help="explain how fftconv would convolve two shapes",
                             description="Explain the plan of a convolution (scipy.signal's, or with "
                             "--boundary scipy.ndimage's) of an image of the given shape, without running "
                             "it.")
    explain.add_argument("image", type=_shape, help="image shape, e.g. 4096x4096")
    explain.add_argument("kernel", type=_shape_or_kernel,
                         help="kernel shape (e.g. 31x31: values unknown) or kernel values: "
                         "gaussian:sigma=S[,truncate=T], box:N, box:NxM or a .npy file")
    explain.add_argument("--mode", choices=["full", "same", "valid"], default="full",
                         help="output size, as in scipy.signal.convolve (default full)")
    explain.add_argument("--correlate", action="store_true", help="correlate instead of convolve")
    explain.add_argument("--boundary", choices=modes, default=None,
                         help="plan scipy.ndimage's filter with this boundary mode instead (a Gaussian or "
                         "box kernel: gaussian_filter or uniform_filter, pass by pass)")
    explain.add_argument("--origin", type=int, default=0,
                         help="with --boundary: ndimage's origin (default 0)")
    explain.add_argument("--dtype", default="float64", help="dtype of both inputs (default float64)")
    explain.add_argument("--method", choices=methods, default="auto",
                         help="force a method (default auto: the planner's choice)")
    explain.add_argument("--threads", type=_positive, default=None,
                         help="threads to plan for (default: the configuration's, else every core)")


def _add_filter(sub, methods: tuple[str, ...], modes) -> None:
    filt = sub.add_parser("filter", help="filter an image file (.npy, .tif, .png) with a kernel",
                          description="Convolve (or correlate) an image file with a kernel, with "
                          "scipy.ndimage's boundary modes; .npy and uncompressed TIFF files stream "
                          "through memory-bounded blocks, so they may be bigger than memory.")
    filt.add_argument("input", help="input image: .npy, .tif/.tiff or .png (.zarr with --dask)")
    filt.add_argument("output", help="output image: .npy, .tif/.tiff or .png (.zarr with --dask)")
    filt.add_argument("--kernel", required=True, metavar="SPEC",
                      help="gaussian:sigma=S[,truncate=T], box:N, box:NxM or a .npy file")
    filt.add_argument("--mode", choices=modes, default="reflect", help="boundary mode (default reflect)")
    filt.add_argument("--cval", type=float, default=0.0, help="value beyond the edges for mode constant")
    filt.add_argument("--correlate", action="store_true", help="correlate instead of convolve")
    filt.add_argument("--nan", choices=("propagate", "interpolate", "fill"), default="propagate",
                      help="NaN pixels: spread as values (propagate, default), filled from the valid pixels "
                      "around them by normalised convolution (interpolate), or replaced by --cval (fill)")
    filt.add_argument("--method", choices=methods, default="auto")
    filt.add_argument("--threads", type=_positive, default=None)
    filt.add_argument("--memory-limit", metavar="SIZE", default=None,
                      help="peak working memory, e.g. 512MiB (default: [memory] limit, else 256MiB "
                      "for memory-mapped inputs)")
    filt.add_argument("--dtype", default=None, help="output dtype (default: the input's)")
    filt.add_argument("--axes", default=None, metavar="A,B",
                      help="axes to filter (default: all but a trailing channel axis of 2 to 4)")
    filt.add_argument("--dask", action="store_true",
                      help="filter chunk by chunk on dask (needs fftconv[dask]; .zarr input and output too)")
    filt.add_argument("--scheduler", metavar="ADDRESS", default=None,
                      help="run on the dask.distributed scheduler at ADDRESS (implies --dask; input and "
                      "output .zarr stores the workers can reach)")
    filt.add_argument("--chunks", metavar="N[,N...]", default=None,
                      help="with --dask: chunk length, or one per axis (default: the store's, else "
                      "fftconv.dask.suggest_chunks: FFT-friendly chunks of dask's chunk size)")
    filt.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fftconv`` console script.

    Examples
    --------
    >>> main(["plan", "512x512", "3x3", "--mode", "same", "--threads", "1"])  # doctest: +ELLIPSIS
    convolve (512, 512) with (3, 3), ...
    0
    """
    from . import commands

    argv = sys.argv[1:] if argv is None else list(argv)
    negative = next((a for a in argv if re.fullmatch(r"-\d+([x,]\d*)+", a)), None)
    if negative is not None:  # argparse would read it as an option and report a missing argument
        print(f"fftconv: {negative} is not a shape: lengths must be positive, such as 64x64", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    run = {"plan": commands.plan, "tune": commands.tune, "filter": commands.filter_image,
           "bench": commands.bench}[args.command]
    try:
        return run(args)
    except commands.UserError as exc:  # bad settings, inputs or paths: one line, no traceback
        print(f"fftconv {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fftconv {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
