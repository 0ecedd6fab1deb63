"""FFTW wisdom kept on disk one file per transform size, so that looking a size up costs what
that size's wisdom costs, not what everything ever measured costs.

One file holding all wisdom (fftconv's format before this module) had to be imported whole on
a process' first FFT call: after a few hundred measured sizes, 1.7 MB and 10,590 entries took
~30 ms (FFTW's ``import_wisdom`` ~1.8 us an entry, holding the GIL), against scipy's 0.7 ms
first call of a 5,000 * 300 convolution. Here each size's file holds the wisdom that plans
that size (the measuring process forgets what it knew before measuring it: ~20-60 entries),
and a process imports a size's file only when a call asks for that size: one failed ``open`` for a
size never measured, well under a millisecond for one that was.

A file is named by a digest of the size (batch shape, FFT shape, real or complex, dtype,
threads) and records the size and the FFTW version that wrote it; a file that is corrupt, is
another size's or comes from another FFTW is a warning and is ignored (the size is measured
again and its file replaced). Files are written atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

#: Format of a size's file.
FORMAT = "fftconv-wisdom-2"


def size_file(directory: Path, encoded_size: list) -> Path:
    """The file of a transform size (as `fftconv.backends.fftw.encode_size` gives it).

    Examples
    --------
    >>> size_file(Path("w"), [[], [16], True, "<f8", 1]).suffix
    '.json'
    """
    digest = hashlib.sha256(json.dumps(encoded_size).encode()).hexdigest()[:24]
    return Path(directory) / f"{digest}.json"


def read(directory: Path, encoded_size: list, fftw_version: Callable[[], str]) -> list[str] | None:
    """The wisdom blobs (double, single, long double) saved for a size, or None if none are
    (a missing file is silent; an unusable one a ``RuntimeWarning``). ``fftw_version`` is
    called only when there is a file to check (it may load FFTW).

    Examples
    --------
    >>> import tempfile
    >>> read(Path(tempfile.mkdtemp()), [[], [16], True, "<f8", 1], lambda: "fftw-3.3.5") is None
    True
    """
    path = size_file(directory, encoded_size)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        warnings.warn(f"cannot read FFTW wisdom {path}: {exc}; planning without it",
                      RuntimeWarning, stacklevel=4)
        return None
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError("not an fftconv wisdom file")
        if data.get("fftw") != fftw_version():
            raise ValueError(f"written by {data.get('fftw')}, this is {fftw_version()}")
        if data.get("size") != encoded_size:
            raise ValueError(f"it holds the wisdom of another size, {data.get('size')}")
        blobs = data["wisdom"]
        if not (isinstance(blobs, list) and len(blobs) == 3 and all(isinstance(b, str) for b in blobs)):
            raise ValueError("expected double, single and long double wisdom")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        warnings.warn(f"ignoring FFTW wisdom {path}: {exc}; the size will be measured again",
                      RuntimeWarning, stacklevel=4)
        return None
    return blobs


def write(directory: Path, encoded_size: list, fftw: str, blobs: list[str]) -> None:
    """Save a size's wisdom atomically; a directory that cannot be written is a warning.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write(folder, [[], [16], True, "<f8", 1], "fftw-3.3.5", ["(w)", "(w)", "(w)"])
    >>> read(folder, [[], [16], True, "<f8", 1], lambda: "fftw-3.3.5")
    ['(w)', '(w)', '(w)']
    """
    path = size_file(directory, encoded_size)
    document = json.dumps({"format": FORMAT, "fftw": fftw, "size": encoded_size, "wisdom": list(blobs)})
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".wisdom-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(document)
        os.replace(tmp, path)
    except OSError as exc:  # unwritable directory, full disk: the convolution goes on without
        warnings.warn(f"cannot save FFTW wisdom to {path}: {exc}", RuntimeWarning, stacklevel=4)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
