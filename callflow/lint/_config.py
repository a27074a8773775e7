"""Lint settings: the ``[tool.callflow]`` table of the nearest ``pyproject.toml``."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from callflow.diagnostics import Severity
from callflow.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

#: Keys accepted in ``[tool.callflow]``; anything else is refused with a suggestion.
KNOWN_KEYS = ("select", "ignore", "severity", "max-loop", "max-attempts")

DEFAULT_MAX_LOOP = 20
DEFAULT_MAX_ATTEMPTS = 10


class LintConfig:
    """Which rules run, at which severity, with which limits.

    ``select``/``ignore`` are code prefixes (``"CF31"`` selects CF310-CF319). ``severity``
    overrides a rule's default severity per code. ``source`` names the file the settings
    came from (None for the defaults).
    """

    __slots__ = ("ignore", "max_attempts", "max_loop", "select", "severity", "source")

    def __init__(
        self,
        *,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] = (),
        severity: Mapping[str, Severity] | None = None,
        max_loop: int = DEFAULT_MAX_LOOP,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        source: Path | None = None,
    ) -> None:
        self.select: tuple[str, ...] | None = None if select is None else tuple(select)
        self.ignore: tuple[str, ...] = tuple(ignore)
        self.severity: dict[str, Severity] = dict(severity or {})
        self.max_loop = max_loop
        self.max_attempts = max_attempts
        self.source = source

    def __repr__(self) -> str:
        origin = str(self.source) if self.source else "defaults"
        return f"LintConfig(from {origin}, select={self.select}, ignore={self.ignore})"

    def with_options(
        self, *, select: Iterable[str] | None = None, ignore: Iterable[str] | None = None
    ) -> LintConfig:
        """Command-line options on top: ``select`` replaces, ``ignore`` adds."""
        return LintConfig(
            select=tuple(select) if select is not None else self.select,
            ignore=(*self.ignore, *(ignore or ())),
            severity=self.severity,
            max_loop=self.max_loop,
            max_attempts=self.max_attempts,
            source=self.source,
        )

    def enabled(self, code: str) -> bool:
        if self.select is not None and not code.startswith(self.select):
            return False
        return not (self.ignore and code.startswith(self.ignore))


DEFAULT_CONFIG = LintConfig()


def find_pyproject(start: str | os.PathLike[str]) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.callflow]`` table, from ``start`` upward.

    ``start`` may be a file (its directory is searched first) or a directory.
    """
    start = os.fspath(start)
    directory = start if os.path.isdir(start) else os.path.dirname(start)
    found = _find_in(os.path.realpath(directory or os.curdir))
    if found is None:
        return None
    from pathlib import Path

    return Path(found)


@functools.lru_cache(maxsize=256)
def _find_in(directory: str) -> str | None:
    # Strings, not Paths: the search runs before every check, and a Path's parts are
    # parsed again at each step up.
    candidate = os.path.join(directory, "pyproject.toml")
    if os.path.isfile(candidate) and _has_callflow_table(candidate):
        return candidate
    parent = os.path.dirname(directory)
    if parent == directory:
        return None
    return _find_in(parent)


def _has_callflow_table(path: str) -> bool:
    # A cheap text test first: most pyproject.toml files have nothing for callflow.
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read()
    except OSError:
        return False
    if "tool.callflow" not in text:
        return False
    tool = _read_toml(path).get("tool")
    return isinstance(tool, dict) and "callflow" in tool


def _read_toml(path: str | os.PathLike[str]) -> dict[str, object]:
    # Imported here: a run with no pyproject.toml for callflow never pays for tomllib (and
    # the datetime and string modules it loads), about 5 ms of a command's start-up.
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from error


def config_for(start: str | os.PathLike[str]) -> LintConfig:
    """The settings that apply to a flow at ``start`` (defaults when no file is found)."""
    found = find_pyproject(start)
    return DEFAULT_CONFIG if found is None else load_config(found)


@functools.lru_cache(maxsize=64)
def load_config(path: Path) -> LintConfig:
    """Read ``[tool.callflow]`` from one ``pyproject.toml``; raise `InputError` if it is wrong."""
    tool = _read_toml(path).get("tool", {})
    table = tool.get("callflow", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise InputError(f"{path}: [tool.callflow] must be a table")
    return config_from_table(table, path)


def config_from_table(table: Mapping[str, object], source: Path | None = None) -> LintConfig:
    """Build a LintConfig from a ``[tool.callflow]`` table, checking every key and value."""
    from callflow.vocabulary import closest

    where = f"{source}: [tool.callflow]" if source else "[tool.callflow]"
    for key in table:
        if key not in KNOWN_KEYS:
            guess = closest(key, KNOWN_KEYS)
            suggestion = f"; did you mean `{guess}`?" if guess else ""
            raise InputError(
                f"{where}: unknown key `{key}`{suggestion} (known: {', '.join(KNOWN_KEYS)})"
            )
    select = table.get("select")
    return LintConfig(
        select=None if select is None else _codes(select, f"{where} select"),
        ignore=_codes(table.get("ignore", []), f"{where} ignore"),
        severity=_severities(table.get("severity", {}), f"{where} severity"),
        max_loop=_positive(table.get("max-loop", DEFAULT_MAX_LOOP), f"{where} max-loop"),
        max_attempts=_positive(
            table.get("max-attempts", DEFAULT_MAX_ATTEMPTS), f"{where} max-attempts"
        ),
        source=source,
    )


def _codes(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f'{where}: expected a list of code prefixes such as ["CF313"]')
    for code in value:
        if not code.upper().startswith("CF"):
            raise InputError(f"{where}: {code!r} is not a callflow code (codes start with CF)")
    return tuple(code.upper() for code in value)


def _severities(value: object, where: str) -> dict[str, Severity]:
    if not isinstance(value, dict):
        raise InputError(f'{where}: expected a table such as {{ CF313 = "info" }}')
    result: dict[str, Severity] = {}
    for code, level in value.items():
        names = [s.value for s in Severity]
        if not isinstance(level, str) or level.lower() not in names:
            raise InputError(f"{where}: {code} = {level!r}; expected one of {', '.join(names)}")
        result[str(code).upper()] = Severity(level.lower())
    return result


def _positive(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{where}: expected a whole number, 1 or more (got {value!r})")
    return value
