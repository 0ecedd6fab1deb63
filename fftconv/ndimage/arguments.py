"""scipy.ndimage's readings of per-axis arguments, with its errors and messages (its tests
match them): one value per axis (`normalize_sequence`) and the axes a filter works on
(`check_axes`)."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Literal

import numpy as np

__all__ = ["check_axes", "normalize_sequence"]

#: scipy.ndimage's boundary modes (as scipy's type stubs spell them).
NDImageMode = Literal["reflect", "constant", "nearest", "mirror", "wrap", "grid-constant", "grid-mirror",
                      "grid-wrap"]


def normalize_sequence(value: object, rank: int) -> list:
    """One value per axis: a scalar (or string) repeated, a sequence checked for length.

    Examples
    --------
    >>> normalize_sequence(2, 3), normalize_sequence("reflect", 2), normalize_sequence([1, 2], 2)
    ([2, 2, 2], ['reflect', 'reflect'], [1, 2])
    """
    if not isinstance(value, str) and np.iterable(value):
        values = list(value)
        if len(values) != rank:
            raise RuntimeError("sequence argument must have length equal to input rank")
        return values
    return [value] * rank


def check_axes(axes: object, ndim: int) -> tuple[int, ...]:
    """The axes a filter works on, in the order given (None: all), as scipy.ndimage checks
    them.

    Examples
    --------
    >>> check_axes(None, 3), check_axes(-1, 2), check_axes((1, -2), 2)
    ((0, 1, 2), (1,), (1, 0))
    """
    if axes is None:
        return tuple(range(ndim))
    if np.isscalar(axes):
        axes = (operator.index(axes),)
    elif not isinstance(axes, Iterable):
        raise ValueError("axes must be an integer, iterable of integers, or None")
    checked = tuple(operator.index(a) for a in axes)
    for a in checked:
        if not -ndim <= a < ndim:
            raise ValueError(f"specified axis: {a} is out of range")
    checked = tuple(a % ndim for a in checked)
    if len(set(checked)) != len(checked):
        raise ValueError("axes must be unique")
    return checked


def check_cval_is_a_number(cval: object) -> None:
    """scipy.ndimage's error for a ``cval`` that is not one number (a string, a list, None).

    Examples
    --------
    >>> check_cval_is_a_number(0.5)
    >>> check_cval_is_a_number("x")
    Traceback (most recent call last):
    ...
    TypeError: must be real number, not str
    """
    if type(cval) in (int, float):
        return
    if isinstance(cval, (str, bytes)) or np.ndim(cval) != 0 or np.asarray(cval).dtype.kind not in "biufc":
        raise TypeError(f"must be real number, not {type(cval).__name__}")  # scipy's error
