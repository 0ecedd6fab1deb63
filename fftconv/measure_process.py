"""The measuring process: ``python -m fftconv.measure_process``, started by
`fftconv.backends.measuring` for the work that must neither stall the user's calls nor
share their process: FFTW's MEASURE plans and the first-use calibration of this CPU.

It runs at the lowest scheduling priority, answers one JSON request a line on its standard
output (``{"error": ...}`` where a request failed) and ends when its input closes. Requests:

* ``{"op": "plan", "size": ...}``: plan that transform size with MEASURE, having forgotten
  the wisdom of earlier sizes: the answer's ``"wisdom"`` is what plans that size alone;
* ``{"op": "time", "cases": [[shape, dtype, threads], ...], "seconds": s}``: also time a
  forward and inverse transform of each (``"seconds"`` in the answer);
* ``{"op": "calibrate", "costs": {...}}``: the coefficients of
  `fftconv.planning.measure_cpu.measure` from those (timed in this process' CPU time);
* ``{"op": "thread_gains", "costs": {...}}``: `fftconv.planning.measure_cpu.thread_gains`
  (wall time: asked for only while the user's process is idle);
* ``{"op": "blas_rates", "precision": "single" | "double", "threads": n}``: the BLAS rates
  `fftconv.nn.rates.measure` gives ``"rates"`` (one thread in CPU time, several in wall time).
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from fftconv.backends import fftw
from fftconv.planning import calibrate, measure_cpu
from fftconv.planning.costs import DEFAULT_COSTS
from fftconv.timing import typical_time


def serve(requests, answers) -> None:
    """Answer each request line of ``requests`` on ``answers``.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> serve(['{"op": "time", "cases": [[[16], "float64", 1]], "seconds": 0.001}'], out)
    >>> answer = json.loads(out.getvalue()); answer["seconds"][0] > 0
    True
    """
    rng = np.random.default_rng(0)
    for line in requests:
        try:
            answer = _answer(json.loads(line), rng)
        except Exception as exc:  # noqa: BLE001 (a request that fails must not end the process)
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def _answer(request: dict, rng: np.random.Generator) -> dict[str, object]:
    answer: dict[str, object] = {}
    op = request["op"]
    if op == "plan":  # the size's own wisdom, without what earlier sizes taught FFTW
        fftw.forget_wisdom()
        fftw.TransformPair(*fftw.decode_size(request["size"]), "measure", None)
        answer["wisdom"] = fftw.export_wisdom_blobs()
    elif op == "time":
        answer["seconds"] = [_time_transforms(tuple(shape), np.dtype(dtype), threads, request["seconds"], rng)
                             for shape, dtype, threads in request["cases"]]
    elif op == "calibrate":
        base = calibrate.from_dict(DEFAULT_COSTS, request["costs"])
        answer["costs"] = calibrate.as_dict(measure_cpu.measure(base, clock=time.process_time))
    elif op == "thread_gains":
        base = calibrate.from_dict(DEFAULT_COSTS, request["costs"])
        answer["costs"] = calibrate.as_dict(measure_cpu.thread_gains(base))
    elif op == "blas_rates":
        from fftconv.nn import rates  # the layers' module: imported only by this request

        threads = int(request["threads"])
        measured = rates.measure(request["precision"], threads,
                                 clock=time.process_time if threads == 1 else time.perf_counter)
        answer["rates"] = {"mac": measured.mac, "complex_mac": measured.complex_mac, "item": measured.item}
    else:
        raise ValueError(f"unknown request {op!r}")
    return answer


def _time_transforms(shape, dtype, threads: int, seconds: float, rng) -> float:
    """Seconds of one transform of ``shape`` (a forward and inverse pair, halved), planned
    with MEASURE: CPU time on one thread (other processes' work does not count), wall time on
    several."""
    real = dtype.kind != "c"
    pair = fftw.TransformPair((), shape, real, dtype.type(0).real.dtype if real else dtype, threads,
                              "measure", None)
    pair.data[...] = rng.standard_normal(pair.data.shape)
    clock = time.process_time if threads == 1 else time.perf_counter
    return typical_time(lambda: (pair.forward(), pair.inverse()), seconds, clock=clock) / 2


if __name__ == "__main__":
    try:
        os.nice(19)
    except (AttributeError, OSError):  # not available or not allowed: normal priority
        pass
    serve(sys.stdin, sys.stdout)
