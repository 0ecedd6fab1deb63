"""The bodies of the ``fftconv`` subcommands: each takes the parsed arguments and returns the
exit status (2, with a message on stderr, for a bad input)."""

from __future__ import annotations

import argparse
import importlib.util
import sys


def filter_image(args: argparse.Namespace) -> int:
    import contextlib
    from pathlib import Path

    import numpy as np

    from .. import config, ndimage
    from ..kernels import from_spec
    from ..planning.plan import MemoryLimitError
    from .imageio import create_image, open_image

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
            "memory_limit": config.parse_size(args.memory_limit, "--memory-limit", unit_required=True)}
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


def tune(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .. import config
    from ..backends.threads import available_cores
    from ..planning import tune as tuning

    try:
        target = Path(args.config) if args.config else config.user_config_path() if args.write else None
        threads = args.threads or available_cores()
        result = tuning.tune(quick=args.quick, threads=threads, progress=not args.no_progress)
        print(tuning.report(result))
        if target is not None:
            tuning.write_costs(result.new, target)
            print(f"\nwrote [planner.costs] to {target}")
        else:
            print("\n(not written: pass --write or --config PATH to keep this fit)")
    except config.ConfigError as exc:
        print(f"fftconv tune: {exc}", file=sys.stderr)
        return 2
    return 0


def plan(args: argparse.Namespace) -> int:
    import numpy as np

    from .. import signal

    try:
        dtype = np.dtype(args.dtype)
        result = signal.plan(args.image, args.kernel, args.mode, args.method, threads=args.threads,
                             dtype=dtype)
    except (TypeError, ValueError) as exc:
        print(f"fftconv plan: {exc}", file=sys.stderr)
        return 2
    print(result.explain())
    return 0


def bench(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .bench import format_table, load_suite, machine_info, missing_peers, run_case, to_csv, to_json

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
        from .plot import plot_speedups

        try:
            plot_speedups(rows, args.plot)
        except RuntimeError as exc:
            print(f"fftconv bench: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {args.plot}")
    return 0
