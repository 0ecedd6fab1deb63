"""The core: the `Problem` value every layer speaks (`problem`), its shape arithmetic
(`geometry`), the dtype policy (`dtypes`), boundary extension (`boundary`), the one run path
(`run`: plan, execute, repair, cast), block-wise filtering under a memory budget (`blocks`),
and the hand-over of tiny calls to scipy's compiled loops (`tiny`). Nothing is imported here,
so that lower layers can use `problem` and `geometry` without pulling in the run path.
"""
