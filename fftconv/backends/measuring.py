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

#: How often the measuring process may die (killed for memory, crashed) and be started again
#: on the next request: a process that keeps dying is not started a fifth time.
RESTARTS = 3

#: The measuring process, once started; why it is not available, once it could not start or
#: died more than `RESTARTS` times; the exit codes of its deaths.
_state: dict[str, object] = {"process": None, "unavailable": None, "exiting": False, "deaths": []}
_lock = threading.Lock()


def ask(request: dict) -> dict | None:
    """Send ``request`` to the measuring process (started on first use) and return its
    answer; None where there is none (it cannot start here, it died, the request failed in
    it, or the interpreter is exiting). A process that died is started again on the next
    request, up to `RESTARTS` times.

    Examples
    --------
    >>> answer = ask({"op": "plan", "size": [[], [16], True, "<f8", 1]})
    >>> answer is None or "wisdom" in answer
    True
    """
    with _lock:
        process = _state["process"]
        if process is None and available():
            try:
                process = subprocess.Popen(
                    [sys.executable, "-m", "fftconv.measure_process"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
            except OSError as exc:
                _state["unavailable"] = f"it could not start ({exc})"
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
            _state["process"] = None
            _close(process)
            if not _state["exiting"]:
                deaths = _state["deaths"]
                deaths.append(process.returncode)
                if len(deaths) > RESTARTS:
                    _state["unavailable"] = f"it died {len(deaths)} times (exit codes {deaths})"
            return None
        reply = json.loads(answer)
        return None if "error" in reply else reply


def available() -> bool:
    """Whether MEASURE plans can be made out of process (it can start, and has not died more
    than `RESTARTS` times).

    Examples
    --------
    >>> available() in (True, False)
    True
    """
    return _state["unavailable"] is None and not _state["exiting"]


def started() -> bool:
    """Whether the measuring process is running (started by an earlier request).

    Examples
    --------
    >>> started() in (True, False)
    True
    """
    return _state["process"] is not None


def unavailable_because() -> str | None:
    """Why `available` is False (None while it is True), for `Plan.explain`.

    Examples
    --------
    >>> unavailable_because() is None or "it" in unavailable_because()
    True
    """
    return "the interpreter is exiting" if _state["exiting"] else _state["unavailable"]


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
    _state.update(process=None, unavailable=None, exiting=False, deaths=[])


atexit.register(stop)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
