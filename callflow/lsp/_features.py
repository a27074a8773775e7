"""Completion, hover, code actions and go to definition (registered on the server)."""

from __future__ import annotations

from typing import Any


def register(server: Any) -> None:
    """Add the editing features to ``server``."""
