"""The bodies of the ``fftconv`` subcommands: each takes the parsed arguments and returns the
exit status. A bad input, setting or path raises one of `UserError`, which `main` prints as
one line (exit status 2); output paths are checked before any work starts."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
from pathlib import Path

#: What a command raises for bad inputs, settings, files or sizes (ConfigError and
#: MemoryLimitError among them): shown as one line, never a traceback.
UserError = (ValueError, TypeError, RuntimeError, OSError, MemoryError)


def check_writable(path: str | os.PathLike[str], what: str) -> Path:
    """``path`` as a Path if a file can be written there, else ``ValueError`` saying why.

    Examples
    --------
    >>> check_writable("/nonexistent-dir/x.json", "--json")
    Traceback (most recent call last):
    ...
    ValueError: --json: the directory /nonexistent-dir does not exist
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise ValueError(f"{what}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise ValueError(f"{what}: cannot write in {directory}")
    if target.is_dir():
        raise ValueError(f"{what}: {target} is a directory")
    return target


def filter_image(args: argparse.Namespace) -> int:
    import contextlib

    from .. import config, ndimage
    from ..kernels import parse_spec
    from .imageio import create_image, open_image

    source, target = Path(args.input), check_writable(args.output, "output")
    if source.resolve() == target.resolve():
        raise ValueError("the output must be a different file from the input")
    if args.dask or args.scheduler:
        return _filter_with_dask(args, source, target)
    if ".zarr" in (source.suffix.lower(), target.suffix.lower()):
        raise ValueError("zarr stores are filtered with --dask (pip install \"fftconv[dask]\")")
    image = open_image(source)
    check_image(image, source)
    axes = _filter_axes(args.axes, image.shape)
    spec = parse_spec(args.kernel)
    dtype = output_dtype(args.dtype, image.dtype)
    check_kernel_size(spec, args, len(axes), dtype)
    limit = {} if args.memory_limit is None else {
        "memory_limit": config.parse_size(args.memory_limit, "--memory-limit", unit_required=True)}
    with config.override(**limit) if limit else contextlib.nullcontext():
        with create_image(target, image.shape, dtype) as out:  # renamed into place on success only
            func, options = _filter_call(ndimage, spec, args, len(axes), dtype)
            func(image, output=out, mode=args.mode, cval=args.cval, axes=axes, method=args.method,
                 threads=args.threads, progress=not args.no_progress, **options)
    print(_filter_report(target, image.shape, dtype, spec, args, len(axes)))
    return 0


def _separable(spec, args: argparse.Namespace, ndim: int, dtype) -> tuple[str, dict] | None:
    """The 1-D passes that apply ``spec`` (`fftconv.kernels.KernelSpec.separable_filter`),
    for floating outputs without NaN treatment: an integer output is rounded once, from the
    whole kernel's sums (scipy's passes would truncate after each one)."""
    import numpy as np

    if args.nan != "propagate" or np.dtype(dtype).kind not in "fc":
        return None
    return spec.separable_filter(ndim, args.correlate)


def _filter_call(module, spec, args: argparse.Namespace, ndim: int, dtype) -> tuple:
    """The filter of ``module`` (``fftconv.ndimage`` or ``fftconv.dask.ndimage``) that applies
    ``spec`` into ``dtype``, and its keywords: a Gaussian or a box as 1-D passes
    (gaussian_filter, uniform_filter: the same path as calling them, `_separable`), other
    kernels as one convolution or correlation with the kernel's array."""
    separable = _separable(spec, args, ndim, dtype)
    if separable is not None:
        name, options = separable
        return getattr(module, name), options
    func = module.correlate if args.correlate else module.convolve
    return func, {"weights": spec.array(ndim), "nan": args.nan}


def _filter_report(target: Path, shape: tuple, dtype, spec, args: argparse.Namespace, ndim: int) -> str:
    separable = _separable(spec, args, ndim, dtype)
    how = f"by {separable[0]}" if separable else "correlated" if args.correlate else "convolved"
    return (f"wrote {target}: {shape} {dtype}, kernel {spec.shape(ndim)} ({args.kernel}), {how}, "
            f"mode {args.mode}")


def _filter_axes(text: str | None, shape: tuple[int, ...]) -> tuple[int, ...]:
    if text is not None:
        try:
            axes = tuple(int(a) for a in text.split(","))
        except ValueError:
            raise ValueError(f"--axes: expected axis numbers such as 0,1, got {text!r}") from None
        n = len(shape)
        if any(not -n <= a < n for a in axes) or len({a % n for a in axes}) < len(axes):
            raise ValueError(f"--axes {text}: the image has {n} axes (0 to {n - 1}); name each at most once")
        return axes
    if len(shape) == 3 and shape[2] in (2, 3, 4):
        return (0, 1)  # colour (and alpha) channels are filtered one by one
    return tuple(range(len(shape)))


def check_image(image, source: Path) -> None:
    """An image the filter can take: numbers, at least one axis."""
    import numpy as np

    if np.dtype(image.dtype).kind not in "biufc":
        raise ValueError(f"{source} holds {image.dtype} values; fftconv filter needs numbers")
    if len(image.shape) == 0:
        raise ValueError(f"{source} holds a single number (a 0-d array); fftconv filter needs an image "
                         "with at least one axis")


def output_dtype(text: str | None, default):
    """``--dtype``: a numeric NumPy dtype (default: the input's)."""
    import numpy as np

    if text is None:
        return np.dtype(default)
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ValueError(f"--dtype {text}: not a NumPy dtype; use e.g. float32, float64 or uint8") from None
    if dtype.kind not in "biufc":
        raise ValueError(f"--dtype {text}: {dtype.name} cannot hold a filtered image; use a numeric dtype "
                         "such as float32, float64 or uint8")
    return dtype


#: Kernels longer than this along an axis are refused by ``fftconv filter``: their sums take
#: hours and their value on an image is its mean to within rounding for most modes.
MOST_TAPS = 1 << 20


def check_kernel_size(spec, args: argparse.Namespace, ndim: int, dtype) -> None:
    """Refuse, before building anything, a kernel spec too long to be meant or too big to
    hold as one array."""
    from ..core.memory import check_fits

    shape = spec.shape(ndim)
    if max(shape, default=0) > MOST_TAPS:
        raise ValueError(f"--kernel {args.kernel} makes a kernel of {max(shape):,} taps along an axis (more "
                         f"than {MOST_TAPS:,}); use a smaller kernel")
    if _separable(spec, args, ndim, dtype) is None and spec.kind != "file":
        check_fits(math.prod(shape) * 8, f"--kernel {args.kernel} as one {' x '.join(map(str, shape))} array")


def _filter_with_dask(args: argparse.Namespace, source: Path, target: Path) -> int:
    try:
        from ..dask import ndimage
        from . import dask_filter
    except ImportError:
        raise RuntimeError('--dask needs the dask extra: pip install "fftconv[dask]"') from None
    from ..dask import suggest_chunks
    from ..kernels import parse_spec

    spec = parse_spec(args.kernel)

    def suggest(shape, dtype):  # chunks whose extended lengths are fast FFT lengths
        axes = _filter_axes(args.axes, shape)
        kernel_shape = [1] * len(shape)
        for a, n in zip(axes, spec.shape(len(axes))):
            kernel_shape[a] = n
        return suggest_chunks(shape, kernel_shape, dtype, axes)

    with dask_filter.client_for(args.scheduler) as client:
        image = dask_filter.open_source(source, dask_filter.parse_chunks(args.chunks), client is not None,
                                        suggest)
        check_image(image, source)
        axes = _filter_axes(args.axes, image.shape)
        dtype = output_dtype(args.dtype, image.dtype)
        check_kernel_size(spec, args, len(axes), dtype)
        func, options = _filter_call(ndimage, spec, args, len(axes), dtype)
        result = func(image, output=dtype, mode=args.mode, cval=args.cval, axes=axes, method=args.method,
                      threads=args.threads, **options)
        dask_filter.write(result, target, client, progress=not args.no_progress)
    print(f"{_filter_report(target, image.shape, dtype, spec, args, len(axes))}, on dask "
          f"({args.scheduler or 'threads'}, chunks {image.chunksize})")
    return 0


def tune(args: argparse.Namespace) -> int:
    from .. import config
    from ..backends.threads import available_cores
    from ..planning import tune as tuning

    target = check_writable(args.config, "--config") if args.config else None
    if args.write:
        target = config.user_config_path()
    config.get()  # a broken configuration is reported before minutes of measuring
    result = tuning.tune(quick=args.quick, threads=args.threads or available_cores(),
                         progress=not args.no_progress)
    print(tuning.report(result))
    if target is None:
        print("\n(not written: pass --write or --config PATH to keep this fit)")
        return 0
    if result.worse_than_before() and not args.force:
        print(f"\nnot written to {target}: the fit's planner regret is worse than the current "
              "coefficients' (a busy machine measures badly; run again when it is quiet, or pass "
              "--force to write it anyway)")
        return 1
    tuning.write_costs(result.new, target)
    print(f"\nwrote [planner.costs] to {target}")
    return 0


def plan(args: argparse.Namespace) -> int:
    import numpy as np

    from .. import ndimage, signal
    from ..kernels import parse_spec

    dtype = plan_dtype(args.dtype)
    ndim = len(args.image)
    spec = parse_spec(args.kernel) if isinstance(args.kernel, str) else None
    if spec is not None:
        kernel = spec.array(ndim)
    elif args.boundary is not None:  # ndimage plans from values: a general kernel of that shape
        if len(args.kernel) != ndim:
            raise ValueError(f"the kernel {args.kernel} needs as many axes as the image {args.image}")
        kernel = np.random.default_rng(0).standard_normal(args.kernel)
        print(f"(the kernel's values are not given: planned as a general {args.kernel} kernel, not a "
              "separable one; give gaussian:..., box:... or a .npy file for its own values)")
    else:
        kernel = args.kernel
    if args.boundary is None:
        result = signal.plan(args.image, kernel, args.mode, args.method, threads=args.threads, dtype=dtype,
                             correlate=args.correlate)
        print(result.explain())
        return 0
    image = np.broadcast_to(np.zeros((), dtype), args.image)
    options = {"mode": args.boundary, "method": args.method, "threads": args.threads}
    floating = spec is not None and dtype.kind in "fc"
    separable = spec.separable_filter(ndim, args.correlate) if floating else None
    if separable is not None and args.origin == 0:
        name, extra = separable
        result = ndimage.plan(name, image, **extra, **options)
    else:
        name = "correlate" if args.correlate else "convolve"
        result = ndimage.plan(name, image, kernel.astype(dtype, copy=False), origin=args.origin, **options)
    print(result.explain())
    return 0


def plan_dtype(text: str):
    """``fftconv plan --dtype``: a dtype the library convolves."""
    import numpy as np

    from ..core.dtypes import SUPPORTED_KINDS

    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ValueError(f"--dtype {text}: not a NumPy dtype; use e.g. float32, float64 or int16") from None
    if dtype.kind not in SUPPORTED_KINDS:
        raise ValueError(f"--dtype {text}: {dtype.name} cannot be convolved; use booleans, integers, floats "
                         "or complex numbers")
    return dtype


def bench(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .bench import (
        format_table,
        load_suite,
        machine_info,
        missing_peers,
        run_case,
        summary,
        to_csv,
        to_json,
    )

    if args.suite == "dask":
        return _bench_dask(args)
    if args.suite == "first-calls":
        return _bench_first_calls(args)
    suite = load_suite("quick" if args.quick else args.suite)
    outputs = {flag: check_writable(path, f"--{flag}") for flag, path in
               (("json", args.json), ("csv", args.csv), ("plot", args.plot)) if path}
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise RuntimeError("--plot needs matplotlib: pip install \"fftconv[plot]\"")
    rounds = args.rounds or suite.rounds
    machine = machine_info(args.threads)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    for note in missing_peers():
        print(f"note: {note}")
    print(f"suite {suite.name!r} ({suite.description}), {rounds} rounds in random order, "
          f"{args.threads} thread(s) for everyone (scipy.fft workers, OpenCV threads, FFTW threads;"
          " scipy.ndimage and astropy are single-threaded)\n")
    rows = []
    for case in tqdm(suite.cases, desc="fftconv bench", unit="case", leave=False,
                     disable=True if args.no_progress else None):
        case_rows = run_case(case, threads=args.threads, rounds=rounds)
        table = format_table(case_rows)
        tqdm.write(table if not rows else table.split("\n", 2)[-1])
        rows.extend(case_rows)
    print("\n" + summary(rows))
    for flag, render in (("json", to_json), ("csv", to_csv)):
        if flag in outputs:
            outputs[flag].write_text(render(rows, machine), newline="")
            print(f"wrote {outputs[flag]}")
    if "plot" in outputs:
        from .plot import plot_speedups

        plot_speedups(rows, str(outputs["plot"]))
        print(f"wrote {outputs['plot']}")
    return 0


def _bench_first_calls(args: argparse.Namespace) -> int:
    """``fftconv bench --suite first-calls``: `fftconv.cli.bench_first` with the CLI's output
    files."""
    from tqdm.auto import tqdm

    from .bench import machine_info
    from .bench_first import format_first_calls, run_first_calls, suite_cases

    if args.plot:
        raise ValueError("the first-calls suite writes --json and --csv (no --plot)")
    outputs = {flag: check_writable(path, f"--{flag}") for flag, path in
               (("json", args.json), ("csv", args.csv)) if path}
    machine = machine_info(args.threads)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    repeats = args.rounds or 3
    print(f"each case in fresh processes with fresh user directories, {repeats} of each, "
          f"{args.threads} thread(s); imports not timed\n")
    with tqdm(total=len(suite_cases()), desc="fftconv bench", unit="case", leave=False,
              disable=True if args.no_progress else None) as bar:
        rows = run_first_calls(args.threads, repeats, step=lambda case: bar.update())
    print(format_first_calls(rows))
    if "json" in outputs:
        outputs["json"].write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
        print(f"wrote {outputs['json']}")
    if "csv" in outputs:
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) + list(machine), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **machine})
        outputs["csv"].write_text(buffer.getvalue(), newline="")
        print(f"wrote {outputs['csv']}")
    return 0


def _bench_dask(args: argparse.Namespace) -> int:
    """``fftconv bench --suite dask``: `fftconv.cli.bench_dask` with the CLI's output files."""
    from .bench import machine_info

    if importlib.util.find_spec("distributed") is None:
        raise RuntimeError('the dask suite needs dask.distributed: pip install "fftconv[dask]"')
    if args.csv or args.plot:
        raise ValueError("the dask suite writes --json only (no --csv or --plot)")
    json_path = check_writable(args.json, "--json") if args.json else None
    from .bench_dask import rows_as_dicts, run_dask_suite

    size = args.size or (4096 if args.quick else 16384)
    chunk = args.chunk or (1024 if args.quick else 2048)
    machine = machine_info(args.workers)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    rows = run_dask_suite(size, chunk, tuple(args.kernels), args.workers)
    if json_path:
        json_path.write_text(json.dumps({"machine": machine, "rows": rows_as_dicts(rows)}, indent=2))
        print(f"wrote {json_path}")
    return 0
