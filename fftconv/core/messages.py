"""Values as error messages show them: short, whatever the caller passed (an image handed
where a flag goes would otherwise print hundreds of characters of its repr)."""

from __future__ import annotations

import numpy as np

#: Longest repr shown as it is.
SHOWN_CHARS = 60


def shown(value: object) -> str:
    """``value``'s repr when it is short (NumPy scalars as Python's), else its type.

    Examples
    --------
    >>> shown("sme"), shown(np.float64(0.5))
    ("'sme'", '0.5')
    >>> shown(np.zeros((100, 100)))
    'an object of type ndarray'
    """
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"an object of type {type(value).__name__}"
