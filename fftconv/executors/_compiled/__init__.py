"""Compiled loops (C, built by ``pip install``; optional: the NumPy executors serve without)."""
