"""The client of the measuring process (`fftconv.measure_process`): where FFTW's MEASURE
plans are made for the 'auto' effort, and this CPU's cost coefficients are calibrated.

MEASURE planning takes seconds, cannot be interrupted, and pyFFTW tears FFTW down when the
interpreter exits: a plan being measured in a thread of the user's process would then crash
it (seen: a segmentation fault at exit), or the exit would wait for it. Calibration is
Python work: on a thread of the user's process it would take the GIL from the user's calls
(seen: a 45 ms call took 180 ms). So one child process, at the lowest scheduling priority,
does both; the user's process imports what it learnt as FFTW wisdom or coefficients. The
child is started on first need by the background thread (`fftconv.background`), the only
caller of `ask`; it is killed at exit, and it ends by itself when its input closes (the
parent died). The protocol (one JSON request a line) is in `fftconv.measure_process`.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading

#: The measuring process, once started; ``failed`` once it could not start or died.
_state: dict[str, object] = {"process": None, "failed": False, "exiting": False}
_lock = threading.Lock()


def ask(request: dict) -> dict | None:
    """Send ``request`` to the measuring process (started on first use) and return its
    answer; None where there is none (it cannot start here, it died, or the interpreter is
    exiting).

    Examples
    --------
    >>> answer = ask({"op": "plan", "size": [[], [16], True, "<f8", 1]})
    >>> answer is None or "wisdom" in answer
    True
    """
    with _lock:
        process = _state["process"]
        if process is None and not _state["failed"] and not _state["exiting"]:
            try:
                process = subprocess.Popen(
                    [sys.executable, "-m", "fftconv.measure_process"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
            except OSError:
                _state["failed"] = True
                return None
            _state["process"] = process
        if process is None:
            return None
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            answer = process.stdout.readline()
        except (OSError, ValueError):
            answer = ""
        if not answer:  # it died, or was killed at exit
            _state.update(process=None, failed=True)
            _close(process)
            return None
        return json.loads(answer)


def available() -> bool:
    """Whether MEASURE plans can be made out of process (no failure so far)."""
    return not _state["failed"] and not _state["exiting"]


def stop() -> None:
    """Kill the measuring process (at exit: whatever it was measuring is dropped)."""
    _state["exiting"] = True
    process = _state["process"]
    if process is not None:
        _close(process)


def _close(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()
    for pipe in (process.stdin, process.stdout):
        try:
            pipe.close()
        except OSError:  # the child is gone: a broken pipe
            pass


def _forget_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    _state.update(process=None, failed=False, exiting=False)


atexit.register(stop)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
