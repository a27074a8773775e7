"""The command registry: `callflow --help` lists every command and imports none of them."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import callflow.commands
from callflow.cli import command_names
from callflow.commands import COMMANDS


def _command_modules_on_disk() -> list[str]:
    return sorted(
        module.name
        for module in pkgutil.iter_modules(callflow.commands.__path__)
        if not module.name.startswith("_")
    )


def test_the_registry_names_every_command_module() -> None:
    assert command_names() == _command_modules_on_disk()


def test_the_registry_holds_each_modules_own_name_and_help_line() -> None:
    for name, help_line in COMMANDS.items():
        module = importlib.import_module(f"callflow.commands.{name}")
        assert (name, help_line) == (module.NAME, module.HELP)


def _modules_after(argv: list[str]) -> list[str]:
    """The command modules (not the shared helpers) imported by ``callflow ARGV``."""
    code = (
        "import sys\nfrom callflow.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('callflow.commands.')\n"
        "             and not m.rpartition('.')[2].startswith('_')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return list(eval(done.stdout.strip().splitlines()[-1]))  # a printed list of names


def test_help_imports_no_command_module() -> None:
    assert _modules_after(["--help"]) == []


def test_help_after_a_top_level_option_imports_no_command_module() -> None:
    assert _modules_after(["--color", "never", "--help"]) == []


def test_a_chosen_command_imports_its_own_module_only() -> None:
    assert _modules_after(["--color", "never", "templates", "--help"]) == [
        "callflow.commands.templates"
    ]
