"""A pytest plugin that runs astropy's own convolution tests against fftconv.astropy.

``python -m pytest -p astropy_rebind --pyargs astropy.convolution.tests.test_convolve ...``
(with this folder on ``sys.path``): astropy's ``convolve`` and ``convolve_fft`` are replaced
while the test modules are imported, so that those modules (and the parameters they build
from the names at import) hold fftconv's; astropy's own modules get theirs back before any
test runs, so astropy's internals are not touched.
"""

import sys

import fftconv.astropy as ours

_NAMES = ("convolve", "convolve_fft")
_saved = {}


def pytest_configure(config):
    import astropy.convolution  # noqa: F401 - the package and its module, both holding the names

    for module_name in ("astropy.convolution", "astropy.convolution.convolve"):
        module = sys.modules[module_name]
        for name in _NAMES:
            _saved[(module_name, name)] = getattr(module, name)
            setattr(module, name, getattr(ours, name))


def pytest_collection_finish(session):
    for (module_name, name), original in _saved.items():
        setattr(sys.modules[module_name], name, original)
    rebound = [item.module for item in session.items if getattr(item, "module", None) is not None]
    for module in set(rebound):
        for name in _NAMES:
            if getattr(module, name, None) is not None and getattr(module, name) is not getattr(ours, name):
                setattr(module, name, getattr(ours, name))
