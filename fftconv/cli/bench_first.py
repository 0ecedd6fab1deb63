"""``fftconv bench --suite first-calls``: what a script meets, each call in a fresh process.

Every case runs in its own new Python process with new user directories (no configuration,
no FFTW wisdom), once for scipy and twice for fftconv: on a *calibrated* machine (this
CPU's coefficients already cached, as after fftconv's first use here) and on a *new*
machine (nothing cached: calibration runs in the background). Each process times the first
call, the second call and, for fftconv, a warm call once its background work is done
(`fftconv.cli.first_call`). Each cell is the median of ``repeats`` processes (the warm call:
one process).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .first_call import CASES, WITH_SCIPY_IMPORTED, command

#: Setting variables a user's shell may hold: none reaches the measured processes.
_SETTINGS = ("FFTCONV_CONFIG", "FFTCONV_WISDOM", "FFTCONV_CALIBRATE", "FFTCONV_VERDICTS",
             "FFTCONV_PLANNER_EFFORT", "FFTCONV_METHOD", "FFTCONV_BACKEND", "FFTCONV_MEMORY_LIMIT")


def _environment(home: Path, threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    env.update(XDG_CACHE_HOME=str(home / "cache"), XDG_CONFIG_HOME=str(home / "config"),
               FFTCONV_THREADS=str(threads))
    return env


def run_fresh(args: list[str], home: Path, threads: int) -> dict:
    """Run ``python ARGS`` in a new process whose user directories are under ``home`` (and no
    fftconv setting from the caller's environment), and return the JSON of its last line."""
    done = subprocess.run([sys.executable, *args], env=_environment(home, threads), capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def side_by_side(row: dict[str, object], samples: dict[str, list[dict]], stages: tuple[str, ...]) -> None:
    """Into ``row``: each library's median of each of ``stages`` over its processes'
    ``samples`` (by 'scipy' and 'fftconv'), and fftconv's over scipy's.

    Examples
    --------
    >>> row = {}
    >>> side_by_side(row, {"scipy": [{"first_s": 2.0}], "fftconv": [{"first_s": 1.0}]}, ("first_s",))
    >>> row["ratio_first"]
    0.5
    """
    for who, runs in samples.items():
        for stage in stages:
            row[f"{who}_{stage}"] = statistics.median(s[stage] for s in runs)
    for stage in stages:
        row[f"ratio_{stage.removesuffix('_s')}"] = row[f"fftconv_{stage}"] / row[f"scipy_{stage}"]


def calibrated_cache(folder: Path, threads: int) -> Path:
    """A cache directory holding this CPU's calibration (and no FFTW wisdom)."""
    code = ("import json, fftconv; fftconv.plan((64, 64), (3, 3)); "
            "print(json.dumps({'done': fftconv.planning.calibrate.wait(600)}))")
    run_fresh(["-c", code], folder, threads)
    shutil.rmtree(folder / "cache" / "fftconv" / "wisdom", ignore_errors=True)
    return folder / "cache"


def suite_cases() -> list[str]:
    """The suite's cases: `CASES`, then those of `WITH_SCIPY_IMPORTED`.

    Examples
    --------
    >>> suite_cases()[-1]
    'ndimage.laplace 256x256, scipy imported'
    """
    return [*CASES, *WITH_SCIPY_IMPORTED]


def run_first_calls(threads: int = 1, repeats: int = 3, cases: list[str] | None = None,
                    step: Callable[[str], None] = lambda case: None) -> list[dict]:
    """One row per case: the medians over ``repeats`` fresh processes of scipy's and fftconv's
    first and second calls (fftconv on a calibrated and on a new machine) and fftconv's warm
    call."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="fftconv-first-calls-") as scratch:
        root = Path(scratch)
        calibrated = calibrated_cache(root / "calibrating", threads)
        for case in cases or suite_cases():
            samples: dict[str, list[dict]] = {"scipy": [], "calibrated": [], "new": []}
            for i in range(repeats):
                for state in samples:
                    home = root / f"{state}-{i}"
                    if state == "calibrated":
                        shutil.copytree(calibrated, home / "cache")
                    who = "scipy" if state == "scipy" else "fftconv"
                    warm = ["--warm"] if state == "calibrated" and i == 0 else []
                    samples[state].append(run_fresh(command(case, who, *warm), home, threads))
                    shutil.rmtree(home, ignore_errors=True)

            def median(state: str, field: str, samples=samples) -> float:
                return statistics.median(s[field] for s in samples[state])

            row = {"case": case, "threads": threads, "repeats": repeats,
                   "scipy_first_s": median("scipy", "first_s"), "scipy_second_s": median("scipy", "second_s"),
                   "first_s": median("calibrated", "first_s"), "second_s": median("calibrated", "second_s"),
                   "warm_s": samples["calibrated"][0]["warm_s"],
                   "background_done": samples["calibrated"][0]["background_done"],
                   "new_machine_first_s": median("new", "first_s"),
                   "new_machine_second_s": median("new", "second_s")}
            row["first_vs_scipy"] = row["first_s"] / row["scipy_first_s"]
            row["new_machine_extra_s"] = row["new_machine_first_s"] - row["scipy_first_s"]
            rows.append(row)
            step(case)
    return rows


def format_first_calls(rows: list[dict]) -> str:
    """The rows as a table, then whether the acceptance bounds hold.

    Examples
    --------
    >>> row = {"case": "c", "scipy_first_s": 0.5, "first_s": 0.2, "first_vs_scipy": 0.4,
    ...        "new_machine_first_s": 0.3, "new_machine_extra_s": -0.2, "scipy_second_s": 0.4,
    ...        "second_s": 0.1, "warm_s": 0.05, "background_done": True}
    >>> print(format_first_calls([row]).splitlines()[-1])
    first call at most scipy's: 1 of 1 (calibrated machine); within scipy's + 0.5 s: 1 of 1 (new machine)
    """
    width = max([40] + [len(r["case"]) for r in rows])
    header = (f"{'case':<{width}} {'scipy 1st':>9} {'ours 1st':>9} {'ratio':>6} {'new 1st':>9} {'extra':>7}"
              f" {'scipy 2nd':>9} {'ours 2nd':>9} {'warm':>9}")
    lines = [header, "-" * len(header)]
    for r in rows:
        warm = f"{r['warm_s'] * 1e3:7.1f}ms" + ("" if r["background_done"] else "*")
        lines.append(f"{r['case']:<{width}} {r['scipy_first_s'] * 1e3:7.1f}ms {r['first_s'] * 1e3:7.1f}ms"
                     f" {r['first_vs_scipy']:5.2f}x {r['new_machine_first_s'] * 1e3:7.1f}ms"
                     f" {r['new_machine_extra_s']:+6.2f}s {r['scipy_second_s'] * 1e3:7.1f}ms"
                     f" {r['second_s'] * 1e3:7.1f}ms {warm:>9}")
    within = sum(r["first_vs_scipy"] <= 1.0 for r in rows)
    new_ok = sum(r["new_machine_extra_s"] <= 0.5 for r in rows)
    lines.append("ratio: fftconv's first call over scipy's (calibrated machine); new 1st / extra: a machine "
                 "where fftconv never ran, and its first call minus scipy's; warm: once the background work "
                 "is done (* not done within the wait)")
    lines.append(f"first call at most scipy's: {within} of {len(rows)} (calibrated machine); "
                 f"within scipy's + 0.5 s: {new_ok} of {len(rows)} (new machine)")
    return "\n".join(lines)
