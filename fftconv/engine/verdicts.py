"""Trial verdicts kept on disk: which executor a signature's calls found fastest on this CPU.

A trial (`fftconv.engine.trials`) times the executors the cost model cannot tell apart over a
signature's repeated calls and keeps the fastest; in a new process the same signature met
the same trial again, and its exploring calls ran up to 1.5x slower than the kept choice for
15-60 calls (Intel Xeon, 1 thread: `fftconv.astropy.convolve_fft` of 1024² float64 with a
101x101 PSF, 26-41 ms a call until the fourteenth, then 19-20). So a verdict is saved like
FFTW wisdom and the calibration: one small JSON file per signature in the user cache
directory, named by a digest of the signature (the problem as the planner sees it, the
memory limit, the contenders) and of the machine (`fftconv.planning.calibrate.machine_key`:
the CPU model and the versions of what runs), written by the background thread (or at exit,
where the thread is still busy). A later process plans that signature with the kept executor
at once, and `Plan.explain` says where it came from.

``[planner] verdicts = "off"`` (or ``FFTCONV_VERDICTS=off``) neither reads nor writes them;
deleting the ``verdicts`` folder of the cache directory forgets them. A file that cannot be
read or written, or is not a verdict of this signature, is a warning and is ignored.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import platformdirs

from .. import background, config
from ..core.problem import Spec
from ..planning import calibrate

#: Format of a verdict's file.
FORMAT = "fftconv-verdict-1"
#: Most verdict files kept: writing one beyond it deletes the oldest (by modification time) down
#: to three quarters of it, so that a program meeting ever new signatures does not fill the cache.
MOST_VERDICTS = 4096
#: Verdicts remembered but not yet written, by file (`remember`, `flush`).
_pending: dict[Path, dict] = {}
_pending_lock = threading.Lock()
#: `folder` by the values of the variables the user cache directory is found from on Linux and
#: macOS (platformdirs' look-up was a third of a missing verdict's 27 us).
_folders: dict[tuple[str | None, ...], Path] = {}


def folder() -> Path:
    """Where verdicts are kept: ``verdicts`` in fftconv's user cache directory.

    Examples
    --------
    >>> folder().name
    'verdicts'
    """
    named = (os.environ.get("XDG_CACHE_HOME"), os.environ.get("HOME"))
    found = _folders.get(named)
    if found is None:
        if len(_folders) >= 16:
            _folders.clear()
        found = _folders[named] = Path(platformdirs.user_cache_dir("fftconv")) / "verdicts"
    return found


def signature(spec: Spec, limit: int | None, contenders: Sequence[str]) -> dict[str, object]:
    """What a verdict holds for: the problem as the planner sees it (``spec``), the memory
    limit, the contenders timed, and the machine.

    Examples
    --------
    >>> import numpy as np
    >>> from fftconv.core.problem import Problem
    >>> spec = Problem.build(np.ones(100), np.ones(9), "same").spec(1)
    >>> sorted(signature(spec, None, ["fft", "direct.compiled"]))
    ['contenders', 'limit', 'machine', 'spec']
    """
    return {"spec": repr(spec), "limit": limit, "contenders": sorted(contenders),
            "machine": calibrate.machine_key(spec.backend)["id"]}


def _path(where: Path, key: dict[str, object]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return where / f"{digest}.json"


def recall(settings: config.Config, key: dict[str, object]) -> tuple[str, dict[str, float]] | None:
    """The executor an earlier process' trial kept for ``key`` (a `signature`) and the median
    seconds it timed for each contender, or None (none kept, or ``verdicts`` off).

    Examples
    --------
    >>> recall(config.Config(verdicts="off"), {"spec": "..."}) is None
    True
    """
    if settings.verdicts == "off":
        return None
    path = _path(folder(), key)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        warnings.warn(f"cannot read fftconv's trial verdict {path} ({exc.strerror}); timing the "
                      "signature's executors again", RuntimeWarning, stacklevel=4)
        return None
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT or data.get("key") != key:
            raise ValueError("not this signature's verdict")
        kept, medians = data["kept"], data["medians"]
        if not (isinstance(kept, str) and isinstance(medians, dict) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in medians.values())):
            raise ValueError("expected the kept executor's name and each contender's median seconds")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        warnings.warn(f"ignoring fftconv's trial verdict {path} ({exc}); timing the signature's "
                      "executors again", RuntimeWarning, stacklevel=4)
        return None
    return kept, {str(name): float(seconds) for name, seconds in medians.items()}


def remember(settings: config.Config, key: dict[str, object], kept: str, medians: dict[str, float]) -> None:
    """Save that ``kept`` won the trial of ``key`` (``medians``: each contender's median
    seconds), on the background thread: a call never waits for the file. A verdict still
    waiting there when the process exits (the thread measuring a size for seconds) is
    written at exit (`flush`). Nothing is saved with ``verdicts`` off.

    Examples
    --------
    >>> remember(config.Config(verdicts="off"), {"spec": "..."}, "fft", {"fft": 0.01})
    """
    if settings.verdicts == "off":
        return
    path = _path(folder(), key)
    document = {"format": FORMAT, "key": key, "kept": kept,
                "medians": {name: round(seconds, 9) for name, seconds in medians.items()}}
    with _pending_lock:
        _pending[path] = document
    background.submit(("verdict", str(path), kept), functools.partial(_write_pending, path))


def flush() -> None:
    """Write the verdicts still waiting for the background thread (at exit).

    Examples
    --------
    >>> flush()
    """
    with _pending_lock:
        waiting = list(_pending)
    for path in waiting:
        _write_pending(path)


def _write_pending(path: Path) -> None:
    with _pending_lock:
        document = _pending.pop(path, None)
    if document is not None:
        _write(path, document)


def _write(path: Path, document: dict) -> None:
    try:
        calibrate.write_json(path, document)
    except OSError as exc:  # an unwritable cache: the next process times the signature again
        warnings.warn(f"cannot save fftconv's trial verdict to {path} ({exc.strerror})", RuntimeWarning,
                      stacklevel=2)
        return
    _prune(path.parent)


def _prune(where: Path) -> None:
    """Delete the oldest verdicts beyond `MOST_VERDICTS` (down to three quarters of it); files
    another process deletes meanwhile are skipped."""
    files = list(where.glob("*.json"))
    if len(files) <= MOST_VERDICTS:
        return
    aged = []
    for file in files:
        try:
            aged.append((file.stat().st_mtime, file))
        except OSError:
            continue
    aged.sort()
    for _, file in aged[: len(aged) - MOST_VERDICTS * 3 // 4]:
        file.unlink(missing_ok=True)


atexit.register(flush)
