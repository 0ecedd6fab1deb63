"""The engine: the one run path every facade takes, above the planner and the executors.

`run` plans a `Problem` and executes its plan; `blocks` cuts memory-bounded work into
blocks; `lane` sends repeated call signatures straight to their prepared executor; `tiny`
hands calls too small to plan to NumPy's and scipy's compiled loops; `trials` times the
contending executors of a signature whose estimates are too close to call.

Like `fftconv.core` and `fftconv.planning`, this package's ``__init__`` imports nothing.
"""
