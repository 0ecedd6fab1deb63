"""Configuration: a TOML file, environment overrides and scoped overrides for scripts.

Where settings come from, later winning over earlier:

1. built-in defaults (they already work well; ``fftconv tune`` fits this machine's costs);
2. a TOML file: the path in ``FFTCONV_CONFIG``, else ``config.toml`` in the user's config
   directory (`user_config_path`), if it exists; a process reads it at its first call, and
   again where that path changes or after `reload` (an edit made while it runs);
3. environment variables: ``FFTCONV_THREADS``, ``FFTCONV_PLANNER_EFFORT``, ``FFTCONV_WISDOM``,
   ``FFTCONV_METHOD``, ``FFTCONV_BACKEND``, ``FFTCONV_CALIBRATE``, ``FFTCONV_VERDICTS``,
   ``FFTCONV_MEMORY_LIMIT``;
4. ``with fftconv.config.override(threads=1): ...`` in a script;
5. arguments of a call, such as ``threads=``.

The file::

    [fftw]
    threads = 2                 # default thread count
    planner_effort = "auto"     # auto | estimate | measure | patient
    wisdom = true               # false, or a directory for FFTW wisdom (one file per size)

    [planner]
    method = "auto"             # force a method wherever 'auto' is asked for
    backend = "fftw"            # the FFT backend of the spectral methods
    calibrate = "auto"          # auto: measure this CPU's key costs on first use (~1 s, cached); off
    verdicts = "auto"           # auto: keep which executor each signature's trial found fastest; off

    [planner.costs]             # written by `fftconv tune` (then calibration is not used)
    fft_point_log = 1.1e-10

    [memory]
    limit = "2GiB"

A malformed file, an unknown key or a bad value raises `ConfigError` (a ``ValueError``) naming
the file, the key and what is wrong.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from .planning.costs import DEFAULT_COSTS, CostModel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["Config", "ConfigError", "get", "override", "reload", "load", "user_config_path",
           "wisdom_default_path"]

PLANNER_EFFORTS = ("auto", "estimate", "measure", "patient")
#: ``[planner] calibrate``: measure this CPU's key costs on first use, or not.
CALIBRATE_CHOICES = ("auto", "off")
#: ``[planner] verdicts``: keep trials' verdicts for later processes (`fftconv.engine.verdicts`), or not.
VERDICT_CHOICES = ("auto", "off")
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
          "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


class ConfigError(ValueError):
    """A configuration file, environment variable or override is invalid."""


@dataclass(frozen=True)
class Config:
    """The settings in force.

    Attributes
    ----------
    threads : int or None
        Default thread count (None: every available core).
    planner_effort : str
        FFTW planning effort: 'auto' plans large new transforms with ESTIMATE and re-plans
        them with MEASURE once reused (or at once when wisdom knows them); 'estimate',
        'measure' and 'patient' fix the effort.
    wisdom : pathlib.Path or None
        The directory FFTW wisdom is kept in, one file per transform size (None: none).
    method : str
        Method used wherever 'auto' is asked for ('auto': the planner decides).
    backend : str
        FFT backend of the spectral methods (`fftconv.backends`; 'fftw' built in).
    costs : CostModel
        The cost model's machine coefficients: the built-in ones, or those of
        ``[planner.costs]`` (``costs_source`` says which).
    costs_source : str
        'built-in', or 'tuned' when ``[planner.costs]`` or an override gave coefficients.
    calibrate : str
        'auto': built-in coefficients are replaced, for the planner, by ones measured on this
        CPU the first time it plans (`fftconv.planning.calibrate`); 'off': they are used as
        they are.
    verdicts : str
        'auto': the executor a signature's trial found fastest is kept in the user cache
        directory (per CPU) and later processes plan that signature with it
        (`fftconv.engine.verdicts`); 'off': each process times it again.
    memory_limit : int or None
        Peak extra bytes the tiled executor may use (None: no limit).
    source : str
        The file the settings were read from, or 'defaults'.
    """

    threads: int | None = None
    planner_effort: str = "auto"
    wisdom: Path | None = None
    method: str = "auto"
    backend: str = "fftw"
    costs: CostModel = DEFAULT_COSTS
    memory_limit: int | None = None
    source: str = "defaults"
    costs_source: str = "built-in"
    calibrate: str = "auto"
    verdicts: str = "auto"


def user_config_path() -> Path:
    """Path of the configuration file (``FFTCONV_CONFIG``, else the user config directory).

    Examples
    --------
    >>> user_config_path().name.endswith(".toml")
    True
    """
    env = os.environ.get("FFTCONV_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("fftconv")) / "config.toml"


def wisdom_default_path() -> Path:
    """Default wisdom directory (one file per transform size), in the user's cache directory.

    Examples
    --------
    >>> wisdom_default_path().name
    'wisdom'
    """
    return Path(platformdirs.user_cache_dir("fftconv")) / "wisdom"


def parse_size(value: object, where: str, unit_required: bool = False) -> int:
    """Bytes from an int (bytes) or a string such as ``"64MiB"`` or ``"2 GB"``. With
    ``unit_required`` (files, the environment, the command line), a bare number is an error:
    ``limit = 512`` is far more likely to mean 512 MiB than 512 bytes.

    Examples
    --------
    >>> parse_size("64MiB", "limit"), parse_size(1000, "limit")
    (67108864, 1000)
    >>> parse_size("512", "limit", unit_required=True)
    Traceback (most recent call last):
    ...
    fftconv.config.ConfigError: limit: a size needs a unit, e.g. "512MiB" (or "512B" for bytes); got '512'
    """
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a size such as \"2GiB\", got {value!r}")
    if isinstance(value, int) and not unit_required:
        if value <= 0:
            raise ConfigError(f"{where}: a size must be positive, got {value}")
        return value
    text = str(value) if isinstance(value, (int, str)) else ""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    if m and unit_required and not m.group(2):
        raise ConfigError(f"{where}: a size needs a unit, e.g. \"{m.group(1)}MiB\" (or \"{m.group(1)}B\" for "
                          f"bytes); got {value!r}")
    if m and m.group(2).lower() in _UNITS:
        size = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
        if size > 0:
            return size
    raise ConfigError(f"{where}: expected a size such as \"2GiB\" or \"512MB\", got {value!r}")


def _positive_int(value: object, where: str) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigError(f"{where}: expected a positive integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: expected a positive integer, got {value!r}")
    return value


def _choice(value: object, choices: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ConfigError(f"{where}: expected one of {', '.join(choices)}; got {value!r}")
    return value.lower()


#: The names a setting may take, as the registries that own them report them: the executor
#: registry ('method') and the backend registry ('backend') register here, so that this module,
#: which every layer uses, imports none of them.
_CHOICES: dict[str, Callable[[], tuple[str, ...]]] = {}


def register_choices(setting: str, names: Callable[[], tuple[str, ...]]) -> None:
    """Have ``setting`` ('method', 'backend') validated against ``names()`` from now on.

    Examples
    --------
    >>> register_choices("method", _CHOICES["method"])  # what fftconv.executors did
    """
    _CHOICES[setting] = names


def _method(value: object, where: str) -> str:
    return _choice(value, _CHOICES["method"](), where)


def _backend(value: object, where: str) -> str:
    return _choice(value, _CHOICES["backend"](), where)


def _wisdom(value: object, where: str) -> Path | None:
    if isinstance(value, bool):
        return wisdom_default_path() if value else None
    if isinstance(value, str) and value.strip():
        if value.strip().lower() in ("0", "false", "off", "no", "none"):
            return None
        if value.strip().lower() in ("1", "true", "on", "yes"):
            return wisdom_default_path()
        text = value.strip()
        if "/" in text or os.sep in text or text.startswith("~"):
            path = Path(text).expanduser()
            if path.is_file():
                raise ConfigError(f"{where}: {path} is a file; FFTW wisdom is kept in a directory, one "
                                  "file per transform size (a single wisdom file is from an earlier "
                                  "fftconv): give a directory, such as ~/.cache/fftconv/wisdom")
            return path
    raise ConfigError(f"{where}: expected true, false or a directory path (with a / in it, such as "
                      f"~/fftconv-wisdom), got {value!r}")


def _costs(table: object, where: str, base: CostModel) -> CostModel:
    if isinstance(table, CostModel):
        return table
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table of cost coefficients, got {table!r}")
    known = {f.name: f for f in dataclasses.fields(CostModel)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(
                f"{where}.{key}: unknown cost coefficient; known: {', '.join(sorted(known))}"
            )
        may_be_zero = key in _ZERO_ALLOWED
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            value > 0 or (may_be_zero and value == 0)
        ):
            wanted = "a non-negative number" if may_be_zero else "a positive number"
            raise ConfigError(f"{where}.{key}: expected {wanted}, got {value!r}")
        values[key] = int(value) if known[key].type in (int, "int") else float(value)
    return dataclasses.replace(base, **values)


#: Cost coefficients that may be zero (an additive term the fit can drop).
_ZERO_ALLOWED = frozenset({"fft_point", "copy_row", "direct_point"})

_SCHEMA = {
    "fftw": {"threads", "planner_effort", "wisdom"},
    "planner": {"method", "backend", "costs", "calibrate", "verdicts"},
    "memory": {"limit"},
}


def _apply_file(config: Config, data: Mapping[str, Any], path: Path) -> Config:
    changes: dict[str, Any] = {"source": str(path)}
    for table, body in data.items():
        if table not in _SCHEMA:
            raise ConfigError(f"{path}: unknown table [{table}]; known: {', '.join(sorted(_SCHEMA))}")
        if not isinstance(body, Mapping):
            raise ConfigError(f"{path}: [{table}] must be a table, got {body!r}")
        for key, value in body.items():
            where = f"{path}: [{table}] {key}"
            if key not in _SCHEMA[table]:
                raise ConfigError(
                    f"{path}: unknown key {key!r} in [{table}]; known: {', '.join(sorted(_SCHEMA[table]))}"
                )
            if (table, key) == ("fftw", "threads"):
                changes["threads"] = _positive_int(value, where)
            elif (table, key) == ("fftw", "planner_effort"):
                changes["planner_effort"] = _choice(value, PLANNER_EFFORTS, where)
            elif (table, key) == ("fftw", "wisdom"):
                changes["wisdom"] = _wisdom(value, where)
            elif (table, key) == ("planner", "method"):
                changes["method"] = _method(value, where)
            elif (table, key) == ("planner", "backend"):
                changes["backend"] = _backend(value, where)
            elif (table, key) == ("planner", "costs"):
                changes["costs"] = _costs(value, f"{path}: [planner.costs]", config.costs)
                changes["costs_source"] = "tuned"
            elif (table, key) == ("planner", "calibrate"):
                changes["calibrate"] = _choice(value, CALIBRATE_CHOICES, where)
            elif (table, key) == ("planner", "verdicts"):
                changes["verdicts"] = _choice(value, VERDICT_CHOICES, where)
            elif (table, key) == ("memory", "limit"):
                changes["memory_limit"] = parse_size(value, where, unit_required=True)
    return dataclasses.replace(config, **changes)


def load(path: str | os.PathLike[str]) -> Config:
    """Read a configuration file over the built-in defaults (no environment, no overrides).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.toml"
    >>> _ = p.write_text('[fftw]\\nthreads = 3\\n')
    >>> load(p).threads
    3
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return _apply_file(Config(wisdom=wisdom_default_path()), data, path)


_ENV = {
    "FFTCONV_THREADS": ("threads", _positive_int),
    "FFTCONV_PLANNER_EFFORT": ("planner_effort", lambda v, w: _choice(v, PLANNER_EFFORTS, w)),
    "FFTCONV_WISDOM": ("wisdom", _wisdom),
    "FFTCONV_METHOD": ("method", _method),
    "FFTCONV_BACKEND": ("backend", _backend),
    "FFTCONV_CALIBRATE": ("calibrate", lambda v, w: _choice(v, CALIBRATE_CHOICES, w)),
    "FFTCONV_VERDICTS": ("verdicts", lambda v, w: _choice(v, VERDICT_CHOICES, w)),
    "FFTCONV_MEMORY_LIMIT": ("memory_limit", lambda v, w: parse_size(v, w, unit_required=True)),
}

_overrides: contextvars.ContextVar[tuple[dict[str, Any], ...]] = contextvars.ContextVar(
    "fftconv_config_overrides", default=()
)
#: Whether `override` was ever entered: until then `get` does not read the context variable
#: (~5 us of a fresh process's first tiny call, whose memory another import made cold).
_overridden = [False]
#: The file as last read: its path's variables (``named``), the path and its time stamp
#: (``key``) and its settings. It is read once: a look each second had cost the first call
#: after a second's pause a ``stat`` of ~70 us (a cold system call; a 16x16 * 3x3 call takes 40).
_file_state: dict[str, Any] = {"key": None, "config": None, "named": None}
#: (``FFTCONV_CONFIG``'s raw value, the file's method) as the file was last read (`forced_method`).
_file_method: list[tuple | None] = [None]
_resolved: dict[tuple, Config] = {}


#: The variables the configuration file's path is found from (`user_config_path`, platformdirs
#: on POSIX): `get` watches them, last.
_PATH_VARIABLES = ("FFTCONV_CONFIG", "XDG_CONFIG_HOME", "HOME")
#: `user_config_path` by those variables' values: platformdirs' look-up was half of each look
#: at the file.
_paths: dict[tuple, Path] = {}


def _config_path(named: tuple) -> Path:
    """`user_config_path`, remembered for ``named`` (the values of `_PATH_VARIABLES`)."""
    path = _paths.get(named)
    if path is None:
        if len(_paths) >= 16:
            _paths.clear()
        path = _paths[named] = user_config_path()
    return path


def _from_file(named: tuple) -> Config:
    """The file's settings, read where ``named`` (the values of `_PATH_VARIABLES`) changed
    since it was last read, or never was."""
    if _file_state["config"] is not None and _file_state["named"] == named:
        return _file_state["config"]
    path = _config_path(named)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        if os.environ.get("FFTCONV_CONFIG"):
            raise ConfigError(f"{path}: FFTCONV_CONFIG names a file that does not exist") from None
        stamp = None
    key = (str(path), stamp)
    if key != _file_state["key"]:
        config = load(path) if stamp is not None else Config(wisdom=wisdom_default_path())
        _file_state.update(key=key, config=config)
        _resolved.clear()
    _file_state["named"] = named
    _file_method[0] = (named[0], _file_state["config"].method)
    return _file_state["config"]


def reload() -> Config:
    """Read the configuration file again (a process reads it once, at its first call, and
    where ``FFTCONV_CONFIG``, ``XDG_CONFIG_HOME`` or ``HOME`` change): an edit made while the
    process runs applies from here. Returns the settings now in force.

    Examples
    --------
    >>> reload().planner_effort in PLANNER_EFFORTS
    True
    """
    _file_state.update(named=None, key=None, config=None)
    _file_method[0] = None
    _resolved.clear()
    return get()


def _check_override(name: str, value: Any, base: Config) -> Any:
    where = f"override {name}"
    if name == "threads":
        return None if value is None else _positive_int(value, where)
    if name == "planner_effort":
        return _choice(value, PLANNER_EFFORTS, where)
    if name == "wisdom":
        return None if value is None else _wisdom(value if not isinstance(value, Path) else str(value), where)
    if name == "method":
        return _method(value, where)
    if name == "backend":
        return _backend(value, where)
    if name == "costs":
        return _costs(value, where, base.costs)
    if name == "calibrate":
        return _choice(value, CALIBRATE_CHOICES, where)
    if name == "verdicts":
        return _choice(value, VERDICT_CHOICES, where)
    if name == "memory_limit":
        return None if value is None else parse_size(value, where)
    fields = [f.name for f in dataclasses.fields(Config) if f.name not in ("source", "costs_source")]
    raise ConfigError(f"unknown setting {name!r}; known: {', '.join(fields)}")


#: The variables `get` watches, the file's path's last (`_PATH_VARIABLES`), and their raw
#: (bytes) names.
_WATCHED = (*_ENV, *_PATH_VARIABLES)
_WATCHED_RAW = tuple(os.fsencode(name) for name in _WATCHED)
_SETTINGS_VARIABLES = (*_ENV, "FFTCONV_CONFIG")  # what a FFTCONV_* variable may be


#: Where CPython keeps the environment's raw bytes (POSIX), or None: `get` reads the watched
#: variables there, since os.environ's str decoding of them cost a third of a small
#: convolution's time.
_RAW_ENVIRON = getattr(os.environ, "_data", None) if os.name == "posix" else None
if not isinstance(_RAW_ENVIRON, dict):
    _RAW_ENVIRON = None


_warned: set[str] = set()


def _warn_unknown_variables() -> None:
    """A ``FFTCONV_*`` variable fftconv does not read is most likely a misspelt one: say so,
    once per name. The raw names are scanned where CPython keeps them: decoding every
    variable's name took 13-19 of a fresh process's first tiny call's ~60 us."""
    if _RAW_ENVIRON is not None:
        names = [os.fsdecode(raw) for raw in _RAW_ENVIRON if raw.startswith(b"FFTCONV_")]
    else:
        names = list(os.environ)
    for name in names:
        if name.startswith("FFTCONV_") and name not in _SETTINGS_VARIABLES and name not in _warned:
            _warned.add(name)
            warnings.warn(f"environment variable {name} is not a setting of fftconv and is ignored; "
                          f"the settings are {', '.join(_SETTINGS_VARIABLES)}", RuntimeWarning, stacklevel=4)


def get() -> Config:
    """The settings in force here (file, environment and active overrides).

    Examples
    --------
    >>> get().planner_effort in PLANNER_EFFORTS
    True
    """
    # the watched variables' raw values, the file's path's last: only compared for changes
    # (parsed below where they changed); read in place since a fresh process's first call pays
    # for every function it runs
    env = (tuple(map(_RAW_ENVIRON.get, _WATCHED_RAW)) if _RAW_ENVIRON is not None
           else tuple(map(os.environ.get, _WATCHED)))
    layers = _overrides.get() if _overridden[0] else ()
    last = _last
    if last[2] == env and last[1] is layers and last[0] is _file_state["config"]:
        return last[3]  # as in the last call: most calls
    config = _from_file(env[-len(_PATH_VARIABLES):])
    if last[0] is config and last[1] is layers and last[2] == env:
        return last[3]
    key = (id(config), env, layers and tuple(tuple(sorted(layer.items())) for layer in layers))
    cached = _resolved.get(key)
    if cached is not None:
        _last[:] = (config, layers, env, cached)
        return cached
    _warn_unknown_variables()
    env_changes = {}
    for var, (name, parse) in _ENV.items():
        value = os.environ.get(var)
        if value is not None and value.strip() != "":
            env_changes[name] = parse(value, var)
    resolved = dataclasses.replace(config, **env_changes) if env_changes else config
    for layer in layers:
        resolved = dataclasses.replace(resolved, **layer)
    if len(_resolved) > 64:
        _resolved.clear()
    _resolved[key] = resolved
    _last[:] = (config, layers, env, resolved)  # the next call, often a process' first, answered at once
    return resolved


def forced_method() -> str:
    """``get().method`` (what 'auto' means in a call), read from the fewest places where no
    `override` was ever entered and ``FFTCONV_METHOD`` is unset: the file's setting, as last
    read while ``FFTCONV_CONFIG`` was what it is now. A tiny call's only setting: reading every
    variable was 13 of a fresh process's first 16x16 * 3x3 call's ~40 us (AMD EPYC Zen 4,
    caches cold after another import). A file found through ``XDG_CONFIG_HOME`` or ``HOME``
    changed in the process reaches it with the next call that reads every setting (a tiny
    call's answer is the same whichever method sums it).

    Examples
    --------
    >>> forced_method() == get().method
    True
    """
    seen = _file_method[0]
    environ = _RAW_ENVIRON
    if (seen is not None and not _overridden[0] and environ is not None
            and environ.get(b"FFTCONV_METHOD") is None and environ.get(b"FFTCONV_CONFIG") == seen[0]):
        return seen[1]
    return get().method


#: The file's settings, the overrides and the environment of the last `get`, and its answer.
_last: list = [None, None, None, None]


@contextlib.contextmanager
def override(**settings: Any) -> Iterator[Config]:
    """Change settings inside a ``with`` block (per thread and task; nestable).

    Examples
    --------
    >>> import fftconv
    >>> with fftconv.config.override(threads=1, method="direct") as c:
    ...     c.threads, fftconv.plan((100, 100), (5, 5)).method
    (1, 'direct')
    """
    base = get()
    layer = {name: _check_override(name, value, base) for name, value in settings.items()}
    if "costs" in layer:
        layer["costs_source"] = "tuned"
    _overridden[0] = True
    token = _overrides.set(_overrides.get() + (layer,))
    try:
        yield get()
    finally:
        _overrides.reset(token)

