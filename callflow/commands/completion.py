"""`callflow completion bash|zsh|fish`: a shell completion script, made by shtab from the
argparse definitions themselves (so it cannot go stale)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

NAME = "completion"
HELP = "print a shell completion script for bash, zsh or fish"
SHELLS = ("bash", "zsh", "fish")

#: Where each shell's script goes, shown by ``--help``.
_EPILOG = """\
install it with one of:
  bash: callflow completion bash > ~/.local/share/bash-completion/completions/callflow
  zsh:  callflow completion zsh > "${fpath[1]}/_callflow"
  fish: callflow completion fish > ~/.config/fish/completions/callflow.fish
"""


def configure(parser: argparse.ArgumentParser) -> None:
    from callflow.cli import RawDescriptionHelpFormatter

    parser.epilog = _EPILOG
    parser.formatter_class = RawDescriptionHelpFormatter
    parser.add_argument("shell", choices=SHELLS, help="the shell the script is for")


def run(args: argparse.Namespace) -> Outcome:
    import shtab

    from callflow.cli import build_parser
    from callflow.commands._common import Outcome

    script = shtab.complete(build_parser(), shell=args.shell)
    return Outcome(stdout=script if script.endswith("\n") else script + "\n")
