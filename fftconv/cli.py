"""The ``fftconv`` command: ``bench`` (fftconv beside scipy), ``tune`` (fit this machine's
costs), ``plan`` (explain a choice) and ``filter`` (filter an image file, streaming big ones)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence

from ._version import __version__


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(p) for p in text.lower().replace("x", ",").split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 4096x4096") from None
    if not shape or any(n < 1 for n in shape):
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape of positive lengths")
    return shape


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
    from ._benchmark import BUILTIN_SUITES
    from ._boundary import MODES
    from ._planner import METHODS

    parser = argparse.ArgumentParser(prog="fftconv", description=__doc__)
    parser.add_argument("--version", action="version", version=f"fftconv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    bench = sub.add_parser("bench", help="time fftconv beside scipy on this machine")
    bench.add_argument("--suite", default="core", metavar="NAME|PATH",
                       help=f"a built-in suite ({', '.join(BUILTIN_SUITES)}) or a suite TOML file")
    bench.add_argument("--quick", action="store_true", help="the 'quick' suite (under 30 s)")
    bench.add_argument("--threads", type=_positive, default=1, help="threads for every implementation")
    bench.add_argument("--rounds", type=_positive, default=None, help="timed rounds per implementation")
    bench.add_argument("--json", metavar="PATH", help="also write rows and machine info as JSON")
    bench.add_argument("--csv", metavar="PATH", help="also write one CSV line per case and implementation")
    bench.add_argument("--plot", metavar="PNG", help="draw speedup vs image and kernel size (matplotlib)")
    bench.add_argument("--no-progress", action="store_true", help="no progress bar")

    tune = sub.add_parser("tune", help="measure this machine and fit the planner's cost model")
    tune.add_argument("--quick", action="store_true", help="fewer, shorter measurements (under 20 s)")
    tune.add_argument("--threads", type=_positive, default=None,
                      help="threads whose gain to measure (default: every core)")
    where = tune.add_mutually_exclusive_group()
    where.add_argument("--write", action="store_true", help="write the fit to the user config file")
    where.add_argument("--config", metavar="PATH", help="write the fit to this TOML file")
    tune.add_argument("--no-progress", action="store_true", help="no progress bar")

    explain = sub.add_parser("plan", help="explain how fftconv would convolve two shapes")
    explain.add_argument("image", type=_shape, help="image shape, e.g. 4096x4096")
    explain.add_argument("kernel", type=_shape, help="kernel shape, e.g. 31x31")
    explain.add_argument("--mode", choices=["full", "same", "valid"], default="full")
    explain.add_argument("--dtype", default="float64")
    explain.add_argument("--method", choices=METHODS, default="auto")
    explain.add_argument("--threads", type=_positive, default=None)

    filt = sub.add_parser("filter", help="filter an image file (.npy, .tif, .png) with a kernel",
                          description="Convolve (or correlate) an image file with a kernel, with "
                          "scipy.ndimage's boundary modes; .npy and uncompressed TIFF files stream "
                          "through memory-bounded blocks, so they may be bigger than memory.")
    filt.add_argument("input", help="input image: .npy, .tif/.tiff or .png")
    filt.add_argument("output", help="output image: .npy, .tif/.tiff or .png")
    filt.add_argument("--kernel", required=True, metavar="SPEC",
                      help="gaussian:sigma=S[,truncate=T], box:N, box:NxM or a .npy file")
    filt.add_argument("--mode", choices=MODES, default="reflect", help="boundary mode (default reflect)")
    filt.add_argument("--cval", type=float, default=0.0, help="value beyond the edges for mode constant")
    filt.add_argument("--correlate", action="store_true", help="correlate instead of convolve")
    filt.add_argument("--method", choices=METHODS, default="auto")
    filt.add_argument("--threads", type=_positive, default=None)
    filt.add_argument("--memory-limit", metavar="SIZE", default=None,
                      help="peak working memory, e.g. 512MiB (default: [memory] limit, else 256MiB "
                      "for memory-mapped inputs)")
    filt.add_argument("--dtype", default=None, help="output dtype (default: the input's)")
    filt.add_argument("--axes", default=None, metavar="A,B",
                      help="axes to filter (default: all but a trailing channel axis of 2 to 4)")
    filt.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fftconv`` console script.

    Examples
    --------
    >>> main(["plan", "512x512", "3x3", "--mode", "same", "--threads", "1"])  # doctest: +ELLIPSIS
    convolve (512, 512) with (3, 3), ...
    0
    """
    args = build_parser().parse_args(argv)
    if args.command == "plan":
        return _plan(args)
    if args.command == "tune":
        return _tune(args)
    if args.command == "filter":
        return _filter(args)
    return _bench(args)


def _filter(args: argparse.Namespace) -> int:
    import contextlib
    from pathlib import Path

    import numpy as np

    from . import config, ndimage
    from ._imageio import create_image, open_image
    from ._planner import MemoryLimitError
    from .kernels import from_spec

    def fail(message: str) -> int:
        print(f"fftconv filter: {message}", file=sys.stderr)
        return 2

    source, target = Path(args.input), Path(args.output)
    if source.resolve() == target.resolve():
        return fail("the output must be a different file from the input")
    try:
        image = open_image(source)
        if args.axes is not None:
            axes = tuple(int(a) for a in args.axes.split(","))
        elif image.ndim == 3 and image.shape[2] in (2, 3, 4):
            axes = (0, 1)  # colour (and alpha) channels are filtered one by one
        else:
            axes = tuple(range(image.ndim))
        kernel = from_spec(args.kernel, len(axes))
        dtype = np.dtype(args.dtype) if args.dtype else image.dtype
        limit = {} if args.memory_limit is None else {
            "memory_limit": config.parse_size(args.memory_limit, "--memory-limit")}
        settings = config.override(**limit) if limit else contextlib.nullcontext()
        out, finish = create_image(target, image.shape, dtype)
        with settings:
            func = ndimage.correlate if args.correlate else ndimage.convolve
            func(image, kernel, output=out, mode=args.mode, cval=args.cval, axes=axes, method=args.method,
                 threads=args.threads, progress=not args.no_progress)
        finish()
    except (ValueError, TypeError, RuntimeError, FileNotFoundError, MemoryLimitError) as exc:
        return fail(str(exc))
    print(f"wrote {target}: {image.shape} {dtype}, kernel {kernel.shape} ({args.kernel}), "
          f"{'correlated' if args.correlate else 'convolved'}, mode {args.mode}")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import config
    from ._threads import available_cores
    from ._tune import report, tune, write_costs

    try:
        target = Path(args.config) if args.config else config.user_config_path() if args.write else None
        threads = args.threads or available_cores()
        result = tune(quick=args.quick, threads=threads, progress=not args.no_progress)
        print(report(result))
        if target is not None:
            write_costs(result.new, target)
            print(f"\nwrote [planner.costs] to {target}")
        else:
            print("\n(not written: pass --write or --config PATH to keep this fit)")
    except config.ConfigError as exc:
        print(f"fftconv tune: {exc}", file=sys.stderr)
        return 2
    return 0


def _plan(args: argparse.Namespace) -> int:
    import numpy as np

    from ._signal import plan

    try:
        dtype = np.dtype(args.dtype)
        result = plan(args.image, args.kernel, args.mode, args.method, threads=args.threads, dtype=dtype)
    except (TypeError, ValueError) as exc:
        print(f"fftconv plan: {exc}", file=sys.stderr)
        return 2
    print(result.explain())
    return 0


def _bench(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from ._benchmark import format_table, load_suite, machine_info, missing_peers, run_case, to_csv, to_json

    try:
        suite = load_suite("quick" if args.quick else args.suite)
    except ValueError as exc:
        print(f"fftconv bench: {exc}", file=sys.stderr)
        return 2
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        print("fftconv bench: --plot needs matplotlib: pip install \"fftconv[plot]\"", file=sys.stderr)
        return 2
    rounds = args.rounds or suite.rounds
    machine = machine_info(args.threads)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    for note in missing_peers():
        print(f"note: {note}")
    print(f"suite {suite.name!r} ({suite.description}), {rounds} rounds in random order, "
          f"{args.threads} thread(s) for everyone (scipy.fft workers, OpenCV threads, FFTW threads;"
          " scipy.ndimage and astropy are single-threaded); speedup = best peer median / this median\n")
    rows = []
    for case in tqdm(suite.cases, desc="fftconv bench", unit="case", leave=False,
                     disable=args.no_progress):
        case_rows = run_case(case, threads=args.threads, rounds=rounds)
        table = format_table(case_rows)
        tqdm.write(table if not rows else table.split("\n", 2)[-1])
        rows.extend(case_rows)
    for path, render in ((args.json, to_json), (args.csv, to_csv)):
        if path:
            with open(path, "w", newline="") as f:
                f.write(render(rows, machine))
            print(f"wrote {path}")
    if args.plot:
        from ._plot import plot_speedups

        try:
            plot_speedups(rows, args.plot)
        except RuntimeError as exc:
            print(f"fftconv bench: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
