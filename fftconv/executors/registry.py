"""The registered executors, and the one list of method names derived from them.

`fftconv.executors` registers the built-in executors on import; another module (a plug-in,
a test) adds one with `register`. Method names (`methods`) are what ``method=``, the
``[planner] method`` setting, the CLI and error messages accept: ``'auto'`` first, then every
registered executor's method in registration order.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import config
from ..core.messages import shown
from ..plugins import Registry
from .base import Executor

_executors: Registry[Executor] = Registry("executor")
_methods: tuple[int, tuple[str, ...]] = (-1, ())  # (generation, methods()) of the last call


def register(executor: Executor) -> Executor:
    """Add ``executor`` to those the planner considers; returns it.

    Examples
    --------
    >>> from fftconv.executors import registry
    >>> registry.get("fft").method
    'fft'
    """
    for attribute in ("name", "method"):
        value = getattr(executor, attribute, None)
        if not isinstance(value, str) or not value:
            raise TypeError(f"an executor needs a non-empty string {attribute}, got {value!r}")
    if executor.method == "auto":
        raise ValueError("'auto' is the planner's choice, not a method an executor can serve")
    return _executors.add(executor.name, executor)


def unregister(name: str) -> None:
    """Remove the executor called ``name``.

    Examples
    --------
    >>> from fftconv.executors import registry
    >>> registry.unregister("no-such-executor")
    Traceback (most recent call last):
    ...
    KeyError: "no executor named 'no-such-executor'"
    """
    _executors.remove(name)


def executors() -> tuple[Executor, ...]:
    """Every registered executor, in registration order.

    Examples
    --------
    >>> from fftconv.executors import registry
    >>> [e.name for e in registry.executors()][:2]
    ['direct.compiled', 'direct.box']
    """
    return _executors.values()


def get(name: str) -> Executor:
    """The executor called ``name``.

    Examples
    --------
    >>> from fftconv.executors import registry
    >>> registry.get("tiled").name
    'tiled'
    """
    return _executors.get(name)


def methods() -> tuple[str, ...]:
    """Every method name, ``'auto'`` first (what ``fftconv.METHODS`` shows).

    Examples
    --------
    >>> from fftconv.executors import registry
    >>> registry.methods()
    ('auto', 'direct', 'fft', 'tiled', 'separable')
    """
    global _methods
    generation, names = _methods
    if generation != _executors.generation:  # every call of a drop-in checks its method against these
        names = ("auto",) + tuple(dict.fromkeys(e.method for e in _executors.values()))
        _methods = (_executors.generation, names)
    return names


def generation() -> int:
    """A number that changes whenever an executor is registered or removed."""
    return _executors.generation


def check_method(method: object, allowed: Sequence[str] | None = None) -> str:
    """``method`` if it is one of ``allowed`` (default: every method), else ``ValueError``
    listing the choices.

    Examples
    --------
    >>> check_method("fft")
    'fft'
    >>> check_method("magic")
    Traceback (most recent call last):
    ...
    ValueError: Acceptable method flags are 'auto', 'direct', 'fft', 'tiled', 'separable'; got method='magic'.
    """
    allowed = methods() if allowed is None else allowed
    if not isinstance(method, str) or method not in allowed:
        raise ValueError(
            f"Acceptable method flags are {', '.join(repr(m) for m in allowed)}; got method={shown(method)}."
        )
    return method


config.register_choices("method", methods)  # [planner] method and FFTCONV_METHOD name these
