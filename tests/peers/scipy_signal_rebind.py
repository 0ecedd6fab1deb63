"""A pytest plugin that runs scipy.signal's own convolution tests against fftconv.

``python -m pytest -p scipy_signal_rebind --pyargs scipy.signal.tests.test_signaltools`` (with
this folder on ``sys.path``): once the tests are collected, the names `REBOUND` in each test
module (imported there from scipy.signal) become fftconv's, and so do the functions the tests
are parametrized with; everything else (scipy's other functions, its private helpers and the
oracles the tests compute with NumPy) stays scipy's, and scipy's own modules are not touched.
The session's summary line names the functions rebound.
"""

import scipy.signal
from peer_rebinding import swap_parameters

import fftconv

REBOUND = ("convolve", "correlate", "fftconvolve", "oaconvolve", "convolve2d", "correlate2d")
_rebound: set[tuple[str, str]] = set()


def pytest_collection_finish(session):
    theirs = {id(getattr(scipy.signal, name)): getattr(fftconv, name) for name in REBOUND}
    for item in session.items:
        module = getattr(item, "module", None)
        for name in REBOUND:
            if module is not None and vars(module).get(name) is getattr(scipy.signal, name):
                setattr(module, name, getattr(fftconv, name))
                _rebound.add((module.__name__, name))
    swap_parameters(session.items, theirs)


def pytest_terminal_summary(terminalreporter):
    names = sorted({name for _, name in _rebound})
    terminalreporter.write_line(f"rebound to fftconv: {', '.join(names)}")
