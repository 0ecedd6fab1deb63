"""The build: where a C compiler is at hand, every compiled module is built and loads. They are
optional only where none is (the NumPy executors serve then), so a module that fails to build
or to load (an undefined symbol) would otherwise go unnoticed: its tests skip."""

import shutil
import sysconfig

import pytest

from fftconv.engine._compiled import float_passes, tiny_sums
from fftconv.executors import _compiled
from fftconv.nn import winograd


def test_every_compiled_module_is_built_where_a_c_compiler_is():
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}): the NumPy executors serve")
    missing = [name for name, module in [("direct loops", _compiled.direct_loops),
                                         ("running sums", _compiled.running_sums)] if module is None]
    if float_passes is None:
        missing.append("float passes")
    if tiny_sums is None:
        missing.append("tiny sums")
    if not winograd.compiled():
        missing.append("winograd transforms")
    assert not missing, (f"{', '.join(missing)} not built or not loadable though {compiler} is here: "
                         "reinstall with `pip install -e .` and read its compiler output")
