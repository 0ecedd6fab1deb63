"""The ``fftconv`` command line: the parser and dispatch (`main`), the subcommands' bodies
(`commands`), benchmarks (`bench`, suites in ``suites/``), plots (`plot`) and image files
(`imageio`)."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
