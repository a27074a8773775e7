"""Finds the data folders (`schemas/`, `templates/`) in a wheel or in a source checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

__all__ = ["ResourceKind", "default_schema_path", "resource_path"]

ResourceKind = Literal["schemas", "templates"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_path(kind: ResourceKind, name: str = "") -> Path:
    """Path of ``kind/name``: inside the installed package, else at the checkout's top.

    The wheel carries ``schemas/`` and ``templates/`` as ``callflow/schemas`` and
    ``callflow/templates``; an editable install or a plain checkout keeps them one level
    above the package.
    """
    for base in (_PACKAGE_DIR / kind, _PACKAGE_DIR.parent / kind):
        if base.is_dir():
            return base / name if name else base
    raise FileNotFoundError(f"callflow's {kind}/ folder is missing from this installation")


def default_schema_path() -> Path:
    return resource_path("schemas", "callflow.xsd")
