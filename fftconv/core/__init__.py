"""The core: the values every layer speaks. The `Problem` (`problem`), its shape arithmetic
(`geometry`), the dtype policy (`dtypes`), boundary extension (`boundary`) and memory checks
(`memory`). The run path that plans and executes problems is above the planner and the
executors, in `fftconv.engine`. Nothing is imported here, so that every layer can use these
modules without pulling in anything above them.
"""
