"""A pytest plugin that runs dask-image's own ``ndfilters`` tests against fftconv.dask.ndimage.

dask-image's wheel holds no tests: take its test files from its source distribution
(``pip download --no-deps --no-binary :all: dask-image``, then
``tests/test_dask_image/test_ndfilters/``) and run ``python -m pytest -p dask_image_rebind
test__conv.py test__gaussian.py ...`` with this folder on ``sys.path``. Once the tests are
collected, each test module's name ``dask_image`` becomes a stand-in whose ``ndfilters`` is
dask-image's module with the filters fftconv provides (`REBOUND`) replaced by fftconv's, and
so do the functions the tests are parametrized with; everything else stays dask-image's, and
dask-image's own modules are not touched. Where dask-image's tests ask for another error than
scipy.ndimage gives (fftconv raises scipy's: `SCIPYS_ERRORS`), the test is an expected failure
(strict: it fails the run if it passes).
"""

import types

import dask_image.ndfilters
import pytest
from peer_rebinding import swap_parameters

import fftconv.dask.ndimage as ours

#: dask-image's name -> fftconv.dask.ndimage's (``gaussian`` is its alias of gaussian_filter).
REBOUND = {name: name for name in ("convolve", "correlate", "gaussian_filter", "gaussian_laplace",
                                    "gaussian_gradient_magnitude", "laplace", "prewitt", "sobel",
                                    "uniform_filter")}
REBOUND["gaussian"] = "gaussian_filter"


def _weights_scipy_refuses_otherwise(params: dict) -> bool:
    weights = params.get("weights")
    return (params.get("err_type") is ValueError and weights is not None
            and (weights.ndim != 2 or weights.size == 0))


#: dask-image's tests that ask for another error than scipy.ndimage's own function gives on a
#: NumPy array, which fftconv gives: test name -> (whether a parametrization is one, why).
SCIPYS_ERRORS = {
    "test_convolutions_params": (
        _weights_scipy_refuses_otherwise,
        "weights of another rank than the image, or empty: scipy.ndimage raises RuntimeError, as fftconv "
        "does (dask-image: ValueError)"),
    "test_uniform_filter_params": (
        lambda params: params.get("err_type") is TypeError and isinstance(params.get("size"), float),
        "size=3.0: scipy.ndimage filters with size 3, as fftconv does (dask-image: TypeError)"),
    "test_edge_func_params": (
        lambda params: params.get("err_type") is ValueError and isinstance(params.get("axis"), float),
        "axis=0.0: scipy.ndimage raises TypeError, as fftconv does (dask-image: ValueError)"),
}


def pytest_collection_modifyitems(items):
    for item in items:
        rule = SCIPYS_ERRORS.get(getattr(item, "originalname", None))
        callspec = getattr(item, "callspec", None)
        if rule is not None and callspec is not None and rule[0](callspec.params):
            item.add_marker(pytest.mark.xfail(reason=rule[1], strict=True))


class _Rebound(types.ModuleType):
    """dask_image.ndfilters, with fftconv's filters in place of its own."""

    def __getattr__(self, name):
        return getattr(dask_image.ndfilters, name)


def pytest_collection_finish(session):
    rebound = _Rebound("dask_image.ndfilters")
    for theirs, name in REBOUND.items():
        setattr(rebound, theirs, getattr(ours, name))
    package = types.SimpleNamespace(ndfilters=rebound)
    replaced = {id(getattr(dask_image.ndfilters, theirs)): getattr(ours, name)
                for theirs, name in REBOUND.items()}
    for item in session.items:
        module = getattr(item, "module", None)
        if module is not None and getattr(module, "dask_image", None) is not None:
            module.dask_image = package
    swap_parameters(session.items, replaced)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line("dask_image_rebind: dask_image.ndfilters' " + ", ".join(REBOUND)
                                + " are fftconv.dask.ndimage's")
