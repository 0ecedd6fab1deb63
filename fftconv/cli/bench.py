"""Side-by-side timing of fftconv and its scipy peers, interleaved to cancel drift.

Every implementation of a case runs once per round, in a random order, for several rounds; the
median and the spread (max - min) of its rounds are reported with the maximum relative
error against a float64 reference, so a fast wrong answer shows. fftconv's calls are timed
settled (`fftconv.timing.settle`: its trials decided, FFTW's plans measured), as a loop's
later calls meet them; first calls are the ``first-calls`` suite's matter.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy
import scipy.fft
import scipy.ndimage
import scipy.signal

from .. import config
from .._version import __version__
from ..backends import fftw
from ..signal import convolve, fftconvolve, plan
from ..timing import settle


@dataclass(frozen=True)
class Case:
    """One benchmark problem: a random image convolved with a random kernel."""

    shape1: tuple[int, ...]
    shape2: tuple[int, ...]
    mode: str = "same"
    dtype: str = "float64"

    @property
    def name(self) -> str:
        s1 = "x".join(map(str, self.shape1))
        s2 = "x".join(map(str, self.shape2))
        return f"{s1} * {s2} {self.mode} {self.dtype}"


@dataclass
class Row:
    """The timing of one implementation on one case."""

    case: str
    implementation: str
    peer: bool
    median_s: float
    spread_s: float
    rounds: int
    max_rel_error: float
    speedup_vs_best_peer: float | None = None
    planner_choice: str | None = None


@dataclass(frozen=True)
class Suite:
    """A named grid of cases with a default number of rounds."""

    name: str
    description: str
    rounds: int
    cases: tuple[Case, ...]


BUILTIN_SUITES = ("core", "quick")
#: Most calls that bring one of fftconv's implementations of a case to its settled state.
SETTLE_CALLS = 300


def load_suite(name_or_path: str) -> Suite:
    """A built-in suite by name (``fftconv/suites/NAME.toml``) or a suite TOML file by path.

    A suite file holds ``description``, ``rounds`` and ``[[case]]`` tables with ``image`` and
    ``kernel`` shapes, ``mode`` (default 'same') and ``dtype`` (default 'float64').

    Examples
    --------
    >>> suite = load_suite("quick")
    >>> suite.rounds, suite.cases[0].name
    (3, '512x512 * 3x3 same float64')
    """
    from importlib import resources

    from ..config import tomllib

    if name_or_path in BUILTIN_SUITES:
        text = resources.files("fftconv.cli.suites").joinpath(f"{name_or_path}.toml").read_text("utf-8")
        where, name = f"built-in suite {name_or_path!r}", name_or_path
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ValueError(f"no suite {name_or_path!r}: use one of {', '.join(BUILTIN_SUITES)} "
                             "or the path of a suite TOML file")
        try:
            text, where, name = path.read_text("utf-8"), str(path), path.stem
        except UnicodeDecodeError:
            raise ValueError(f"{name_or_path}: not a suite TOML file (it is not text)") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: not valid TOML ({exc})") from None
    cases = []
    for i, entry in enumerate(data.get("case", [])):
        unknown = set(entry) - {"image", "kernel", "mode", "dtype"}
        if unknown:
            raise ValueError(f"{where}: case {i + 1} has unknown keys {sorted(unknown)}")
        try:
            case = Case(tuple(int(n) for n in entry["image"]), tuple(int(n) for n in entry["kernel"]),
                        str(entry.get("mode", "same")), str(np.dtype(entry.get("dtype", "float64"))))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: case {i + 1} needs image and kernel shapes and a valid dtype "
                             f"({exc})") from None
        if case.mode not in ("full", "same", "valid") or len(case.shape1) != len(case.shape2):
            raise ValueError(f"{where}: case {i + 1} has a bad mode or mismatched dimensions")
        cases.append(case)
    if not cases:
        raise ValueError(f"{where}: the suite has no [[case]] tables")
    rounds = data.get("rounds", 5)
    if not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"{where}: rounds must be a positive integer")
    return Suite(name, str(data.get("description", "")), rounds, tuple(cases))


def peers(case: Case, threads: int = 1) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """Peer functions that compute the same result as ``fftconv.convolve`` on ``case``:
    scipy's, and OpenCV's ``filter2D`` and astropy's ``convolve_fft`` when they are installed
    and the case is one they compute ('same' mode, odd kernel, real floats).

    Examples
    --------
    >>> sorted(peers(Case((64, 64), (3, 3), "same")))[:2]
    ['astropy.convolve_fft', 'opencv.filter2D']
    """
    mode = case.mode

    def workers(func):  # scipy's FFT functions take their thread count from scipy.fft
        def run(a, b):
            with scipy.fft.set_workers(threads):
                return func(a, b)
        return run

    table = {
        "scipy.signal.convolve": workers(lambda a, b: scipy.signal.convolve(a, b, mode)),
        "scipy.signal.fftconvolve": workers(lambda a, b: scipy.signal.fftconvolve(a, b, mode)),
        "scipy.signal.oaconvolve": workers(lambda a, b: scipy.signal.oaconvolve(a, b, mode)),
    }
    if len(case.shape1) == 2 and int(np.prod(case.shape2)) <= 49:
        table["scipy.signal.convolve2d"] = lambda a, b: scipy.signal.convolve2d(a, b, mode)
    odd_same = mode == "same" and all(n % 2 for n in case.shape2)
    if odd_same and int(np.prod(case.shape2)) <= 121:
        # zero ('constant') edges and an odd kernel make ndimage's output the 'same' window;
        # beyond 11x11 its direct sum takes seconds and is never the best peer
        table["scipy.ndimage.convolve"] = lambda a, b: scipy.ndimage.convolve(a, b, mode="constant")
    if odd_same and case.dtype in ("float32", "float64"):
        cv2 = _optional("cv2")
        if cv2 is not None and len(case.shape1) == 2:
            cv2.setNumThreads(threads)  # thread-matched with everyone else

            def filter2d(a, b, cv2=cv2):  # correlation with the centred anchor: flip for convolution
                flipped = np.ascontiguousarray(b[::-1, ::-1])
                return cv2.filter2D(a, -1, flipped, borderType=cv2.BORDER_CONSTANT)

            table["opencv.filter2D"] = filter2d
        astropy_convolution = _optional("astropy.convolution")
        if astropy_convolution is not None:
            table["astropy.convolve_fft"] = lambda a, b, ac=astropy_convolution: ac.convolve_fft(
                a, b, boundary="fill", fill_value=0.0, normalize_kernel=False, nan_treatment="fill"
            )
    return table


_OPTIONAL_PEERS = {"cv2": "opencv-python-headless", "astropy.convolution": "astropy"}


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def missing_peers() -> list[str]:
    """A note for every optional peer that is not installed.

    Examples
    --------
    >>> isinstance(missing_peers(), list)
    True
    """
    return [f"{module} is not installed: its peer is skipped (pip install {package})"
            for module, package in _OPTIONAL_PEERS.items() if _optional(module) is None]


def ours(case: Case, threads: int) -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """fftconv's entries for ``case``: the planner's choice and the FFT drop-in."""
    mode = case.mode
    return {
        "fftconv.convolve": lambda a, b: convolve(a, b, mode, threads=threads),
        "fftconv.fftconvolve": lambda a, b: fftconvolve(a, b, mode, threads=threads),
    }


def make_inputs(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic random operands for ``case``."""
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal(case.shape1).astype(case.dtype),
        rng.standard_normal(case.shape2).astype(case.dtype),
    )


def time_interleaved(
    funcs: dict[str, Callable[[], object]], min_rounds: int, max_rounds: int, seconds: float = 0.0,
    streak: int = 1,
) -> dict[str, list[float]]:
    """Seconds of every call of every function, run once per round in a fresh random order,
    for at least ``min_rounds`` rounds and then until ``seconds`` have passed (or
    ``max_rounds``). A fixed order would give each function the same predecessor, whose cache
    footprint biases its timing (by up to 25 % here). With ``streak`` above one, each
    function runs that many calls in a row a round, the first untimed: the times of a tight
    loop of the function alone, where the others' give those of a loop doing other work too.

    Examples
    --------
    >>> t = time_interleaved({"a": lambda: None, "b": lambda: None}, 3, 3)
    >>> sorted(t), len(t["a"])
    (['a', 'b'], 3)
    >>> len(time_interleaved({"a": lambda: None}, 3, 3, streak=4)["a"])
    9
    """
    names = list(funcs)
    times: dict[str, list[float]] = {name: [] for name in names}
    shuffle = np.random.default_rng(1)
    deadline = time.perf_counter() + seconds
    rounds = 0
    while rounds < min_rounds or (rounds < max_rounds and time.perf_counter() < deadline):
        for i in shuffle.permutation(len(names)):
            func = funcs[names[i]]
            for call in range(streak):
                t0 = time.perf_counter()
                func()
                if call or streak == 1:
                    times[names[i]].append(time.perf_counter() - t0)
        rounds += 1
    return times


def run_case(case: Case, threads: int = 1, rounds: int = 5) -> list[Row]:
    """Time every implementation of ``case``, interleaved, and check its result."""
    a, b = make_inputs(case)
    reference = scipy.signal.fftconvolve(a.astype(np.float64), b.astype(np.float64), case.mode)
    scale = float(np.max(np.abs(reference))) or 1.0
    entries = {**{k: (v, True) for k, v in peers(case, threads).items()},
               **{k: (v, False) for k, v in ours(case, threads).items()}}
    errors = {}
    for name, (func, is_peer) in entries.items():  # warm-up: plans, caches, page faults
        if not is_peer:  # fftconv's calls as a loop's later ones meet them: plans settled
            settle(lambda f=func: f(a, b), SETTLE_CALLS)
        result = func(a, b)
        errors[name] = float(np.max(np.abs(result.astype(np.float64) - reference))) / scale
    times = time_interleaved(
        {name: (lambda f=func: f(a, b)) for name, (func, _) in entries.items()}, rounds, rounds
    )
    rows = [
        Row(case.name, name, is_peer, statistics.median(times[name]),
            max(times[name]) - min(times[name]), rounds, errors[name])
        for name, (_, is_peer) in entries.items()
    ]
    best_peer = min(r.median_s for r in rows if r.peer)
    choice = plan(a, b, case.mode, threads=threads).method
    for r in rows:
        r.speedup_vs_best_peer = best_peer / r.median_s
        if r.implementation == "fftconv.convolve":
            r.planner_choice = choice
    return rows


def machine_info(threads: int) -> dict[str, object]:
    """What the figures depend on: CPU, cores, library versions, thread count."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pyfftw": fftw.pyfftw_version(),
        "fftw": fftw.fftw_version(),
        "fft_backend": config.get().backend,
        "fftconv": __version__,
    }


#: What the table's columns mean, printed under it.
TABLE_LEGEND = (
    "median: of the timed rounds; spread: slowest minus fastest round; speedup: the fastest peer's "
    "median over this one's; max rel err: largest |result - reference| over the largest |reference|, "
    "the reference being scipy.signal.fftconvolve in float64"
)


def format_table(rows: list[Row]) -> str:
    """A fixed-width text table, one line per (case, implementation)."""
    header = (f"{'case':<32} {'implementation':<26} {'median':>10} {'spread':>9} {'speedup':>8}"
              f" {'max rel err':>11}")
    lines = [header, "-" * len(header)]
    for r in rows:
        note = f"  (planner: {r.planner_choice})" if r.planner_choice else ""
        lines.append(
            f"{r.case:<32} {r.implementation:<26} {r.median_s * 1e3:>8.2f}ms {r.spread_s * 1e3:>7.2f}ms"
            f" {r.speedup_vs_best_peer:>7.2f}x {r.max_rel_error:>11.1e}{note}"
        )
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    """One line: on how many cases ``fftconv.convolve`` was the fastest, and its geometric-mean
    speedup over the fastest peer, after the columns' legend.

    Examples
    --------
    >>> rows = [Row("c", "fftconv.convolve", False, 1e-3, 0, 3, 0, 2.0), Row("d", "fftconv.convolve",
    ...         False, 1e-3, 0, 3, 0, 0.5)]
    >>> print(summary(rows).splitlines()[-1])
    fftconv.convolve was the fastest on 1 of 2 cases; geometric-mean speedup over the fastest peer 1.00x
    """
    speedups = [r.speedup_vs_best_peer for r in rows if r.implementation == "fftconv.convolve"]
    wins = sum(s > 1 for s in speedups)
    mean = math.exp(sum(math.log(s) for s in speedups) / len(speedups)) if speedups else float("nan")
    return (TABLE_LEGEND + "\n" + f"fftconv.convolve was the fastest on {wins} of {len(speedups)} cases; "
            f"geometric-mean speedup over the fastest peer {mean:.2f}x")


def to_json(rows: list[Row], machine: dict[str, object]) -> str:
    """Rows and machine as a JSON document."""
    return json.dumps({"machine": machine, "rows": [asdict(r) for r in rows]}, indent=2)


def to_csv(rows: list[Row], machine: dict[str, object]) -> str:
    """One CSV line per (case, implementation), machine facts repeated on every line.

    Examples
    --------
    >>> row = Row("c", "fftconv.convolve", False, 0.1, 0.01, 3, 1e-16, 2.0, "tiled")
    >>> to_csv([row], {"cpu": "x"}).splitlines()[0].split(",")[:3]
    ['case', 'implementation', 'peer']
    """
    buffer = io.StringIO()
    fields = list(asdict(rows[0])) + list(machine) if rows else list(machine)
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**asdict(row), **machine})
    return buffer.getvalue()


def report_summary(summary: dict[str, object], machine: dict[str, object], rows: list,
                   json_path: str | None) -> None:
    """Print a benchmark script's summary (``key: value``) and, with ``json_path``, write it
    with the machine facts and the per-case rows as JSON.

    Examples
    --------
    >>> report_summary({"cases": 2, "regret_max": 1.05}, {}, [], None)
    <BLANKLINE>
    cases: 2
    regret_max: 1.050
    """
    print()
    for key, value in summary.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"machine": machine, "summary": summary, "rows": rows}, f, indent=2)
