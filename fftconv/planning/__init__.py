"""Planning: the machine's cost coefficients (`costs`), the `Plan` value (`plan`), the pure
planner that asks every executor for its estimate (`planner`), and ``fftconv tune``, which
fits the coefficients on this machine through the same estimates (`tune`). Nothing is
imported here: executors use `costs` without pulling in the planner.
"""
