"""A pytest plugin that runs scipy.ndimage's own filter tests against fftconv.ndimage.

``python -m pytest -p scipy_ndimage_rebind --pyargs scipy.ndimage.tests.test_filters`` (with
this folder on ``sys.path``): once the tests are collected, each test module's name
``ndimage`` becomes scipy.ndimage with the filters fftconv provides (`REBOUND`) replaced by
fftconv's, and so do the functions the tests are parametrized with (captured from scipy when
the module was imported); everything else (scipy's other filters, its private helpers)
stays scipy's, and scipy's own modules are not touched.
"""

import types

import scipy.ndimage
from peer_rebinding import swap_parameters

import fftconv.ndimage as ours

REBOUND = ("correlate", "convolve", "correlate1d", "convolve1d", "gaussian_filter", "gaussian_filter1d",
           "uniform_filter", "uniform_filter1d", "gaussian_laplace", "gaussian_gradient_magnitude", "laplace",
           "sobel", "prewitt", "generic_laplace", "generic_gradient_magnitude")


class _Rebound(types.ModuleType):
    """scipy.ndimage, with fftconv's filters in place of its own."""

    def __getattr__(self, name):
        return getattr(scipy.ndimage, name)


def pytest_collection_finish(session):
    rebound = _Rebound("scipy.ndimage")
    for name in REBOUND:
        setattr(rebound, name, getattr(ours, name))
    theirs = {id(getattr(scipy.ndimage, name)): getattr(ours, name) for name in REBOUND}
    for item in session.items:
        module = getattr(item, "module", None)
        if module is not None and getattr(module, "ndimage", None) is scipy.ndimage:
            module.ndimage = rebound
    swap_parameters(session.items, theirs)
