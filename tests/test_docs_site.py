"""The documentation site's API reference is written from the packages' ``__all__``
(`docs/conf.py`): every public package is listed there, and each page lists every name."""

import importlib
import pkgutil
import sys
from pathlib import Path

import fftconv

DOCS = Path(__file__).resolve().parents[1] / "docs"


def docs_conf():
    sys.path.insert(0, str(DOCS))
    try:
        spec = importlib.util.spec_from_file_location("docs_conf", DOCS / "conf.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(DOCS))


def test_every_public_package_has_an_api_page(tmp_path, monkeypatch):
    conf = docs_conf()
    public = {"fftconv"}
    for info in pkgutil.walk_packages(fftconv.__path__, "fftconv."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")) or ".cli" in name or ".engine" in name:
            continue
        if name.count(".") > 2:
            continue
        module = importlib.import_module(name)
        if hasattr(module, "__all__") and name.rsplit(".", 1)[0] in ("fftconv", "fftconv.dask"):
            public.add(name)
    internal = {"fftconv.core", "fftconv.planning", "fftconv.background", "fftconv.measure_process",
                "fftconv.plugins", "fftconv.timing", "fftconv.installed", "fftconv.signal",
                "fftconv.convolver", "fftconv.dask.chunks", "fftconv.dask.tasks"}
    assert public - internal <= set(conf.PUBLIC), sorted(public - internal - set(conf.PUBLIC))
    for module_name in conf.PUBLIC:
        page = (DOCS / "api" / f"{module_name}.rst").read_text()
        for name in conf.public_names(module_name):
            assert f"    {name}\n" in page, (module_name, name)
