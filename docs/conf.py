"""Sphinx configuration of fftconv's documentation site.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (needs ``pip install -e ".[docs]"``).
The API pages are written here, at build time, from each public module's ``__all__``, so every
public name has its page and a name added to ``__all__`` appears without editing the docs.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import fftconv  # noqa: E402

project = "fftconv"
author = "the fftconv developers"
release = version = fftconv.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples/README.txt"]
html_theme = "pydata_sphinx_theme"
html_title = "fftconv"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2, "header_links_before_dropdown": 3}
myst_heading_anchors = 3
default_role = "py:obj"  # `name` in a docstring links where Sphinx knows the name
autosummary_generate = True
templates_path = ["_templates"]  # a class page documents its members in place
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
# The build must not need the network: intersphinx inventories are used only when a stored copy
# sits in docs/_inventories/<name>.inv (none is shipped yet), otherwise the links stay plain text.
intersphinx_mapping = {
    name: (url, str(HERE / "_inventories" / f"{name}.inv"))
    for name, url in {
        "numpy": "https://numpy.org/doc/stable/",
        "scipy": "https://docs.scipy.org/doc/scipy/",
        "dask": "https://docs.dask.org/en/stable/",
        "astropy": "https://docs.astropy.org/en/stable/",
        "torch": "https://pytorch.org/docs/stable/",
    }.items()
    if (HERE / "_inventories" / f"{name}.inv").exists()
}
# Every cross-reference must resolve, or be ignored here on purpose: names of other packages
# (no stored intersphinx inventory: the build must not need the network), fftconv's internal
# modules (documented in architecture.md, not in the API reference), and typing's spellings.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|collections|dask|distributed|pathlib|os|typing|astropy|torch|scipy)(\..*)?"),
    (r"py:.*", r"fftconv\.(engine|planning|core|cli|background|plugins|timing|installed)(\..*)?"),
    (r"py:.*", r"fftconv\.(executors|backends|nn|dask|ndimage)\.(?!__)[a-z_]+\b.*"),
    (r"py:class", r"(Mode|Boundary|NDImageMode|DTypeLike|ArrayLike|Axes|dict\[str.*|.*\]|optional)"),
]
sphinx_gallery_conf = {
    "examples_dirs": str(HERE / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

#: The public modules and what their API page says of them.
PUBLIC = {
    "fftconv": "scipy.signal's convolutions, plan and Convolver",
    "fftconv.ndimage": "scipy.ndimage's linear filters, images with holes, plan",
    "fftconv.nn": "PyTorch and Keras convolution layers on NumPy arrays",
    "fftconv.dask": "the convolutions on dask arrays",
    "fftconv.dask.ndimage": "the ndimage filters on dask arrays",
    "fftconv.astropy": "astropy.convolution's convolve and convolve_fft",
    "fftconv.kernels": "common kernels and the CLI's kernel specs",
    "fftconv.config": "settings, overrides and the configuration file",
    "fftconv.executors": "the executor plug-in interface",
    "fftconv.backends": "the FFT backend plug-in interface",
}


def public_names(module_name: str) -> list[str]:
    """The names a module exports (its ``__all__``), submodules left out."""
    module = importlib.import_module(module_name)
    return [n for n in module.__all__ if not isinstance(getattr(module, n, None), type(sys))]


def write_api_pages() -> None:
    api = HERE / "api"
    api.mkdir(exist_ok=True)
    toc = []
    for module_name, what in PUBLIC.items():
        names = public_names(module_name)
        title = f"``{module_name}``: {what}"
        lines = [title, "=" * len(title), "", f".. automodule:: {module_name}", "    :no-members:", "",
                 f".. currentmodule:: {module_name}", "", ".. autosummary::", "    :toctree: generated", ""]
        lines += [f"    {name}" for name in sorted(names, key=str.lower)]
        (api / f"{module_name}.rst").write_text("\n".join(lines) + "\n")
        toc.append(f"    {module_name}")
    index = ["API reference", "=============", "",
             "Every public name of fftconv's packages, from each one's ``__all__``.", "",
             ".. toctree::", "    :maxdepth: 1", "", *toc]
    (api / "index.rst").write_text("\n".join(index) + "\n")


write_api_pages()
