"""Winograd transforms in C (built by ``pip install``; optional: NumPy passes serve without)."""
