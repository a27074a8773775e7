"""Finds the data folders (`schemas/`, `templates/`) in a wheel or in a source checkout."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "ResourceKind",
    "default_schema_file",
    "default_schema_path",
    "is_default_schema",
    "resource_file",
    "resource_path",
]

ResourceKind = Literal["schemas", "templates"]

_PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))


def resource_file(kind: ResourceKind, name: str = "") -> str:
    """The file name of ``kind/name``: inside the installed package, else at the checkout's top.

    The wheel carries ``schemas/`` and ``templates/`` as ``callflow/schemas`` and
    ``callflow/templates``; an editable install or a plain checkout keeps them one level
    above the package. (A string, not a Path: a run that checks one file never imports
    pathlib, about a tenth of its start.)
    """
    for base in (
        os.path.join(_PACKAGE_DIR, kind),
        os.path.join(os.path.dirname(_PACKAGE_DIR), kind),
    ):
        if os.path.isdir(base):
            return os.path.join(base, name) if name else base
    raise FileNotFoundError(f"callflow's {kind}/ folder is missing from this installation")


def resource_path(kind: ResourceKind, name: str = "") -> Path:
    """`resource_file` as a Path."""
    from pathlib import Path

    return Path(resource_file(kind, name))


def default_schema_file() -> str:
    return resource_file("schemas", "callflow.xsd")


def is_default_schema(file: str | os.PathLike[str]) -> bool:
    """Whether ``file`` names callflow's own schema (as `default_schema_file` spells it)."""
    return os.path.normpath(os.fspath(file)) == default_schema_file()


def default_schema_path() -> Path:
    return resource_path("schemas", "callflow.xsd")
