"""The `callflow` command line: an argparse front end, one module per subcommand.

Subcommands live in ``callflow/commands/<name>.py``; each module defines ``NAME``, ``HELP``,
``configure(parser)`` and ``run(args)``, and imports heavy libraries only inside ``run``.

The contract: a command reads its flows through the front door (`callflow.sources`, via
``callflow.commands._common``), and ``run`` returns an `Outcome` (what goes to stdout and
stderr, and whether problems were found) or raises an exception from `callflow.errors`. It
never prints and never picks an exit code: this module is the only place that does both.

=====  ==================================================================================
exit   when
=====  ==================================================================================
0      the command did its work and found no problems
1      problems were found (error diagnostics, a rejected flow), or a `CallflowError`
       other than `InputError` was raised (its diagnostics are printed)
2      usage: bad options, or input that cannot be read (`InputError`; argparse's own)
3      a bug of callflow's (any other exception; the traceback with CALLFLOW_DEBUG=1)
130    interrupted
=====  ==================================================================================
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

if TYPE_CHECKING:
    from callflow.commands._common import Outcome

#: The module's public surface: the console entry point and `main` (callable with an argv).
#: Everything else here serves the commands and the docs' reference hook, not users.
__all__ = ["EXIT_INTERNAL", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "console_main", "main"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` (``$COLUMNS``, else the width of the terminal
    on standard output, else 80), without importing shutil: with the bz2, lzma and fnmatch
    modules it loads, that import is about 5 ms of every command's start-up, and argparse
    makes a formatter (which asks for the width) for every option it defines."""
    import os

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:  # standard output may be None, closed, detached or not a terminal
        size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80
    return size.columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, as wide as argparse would make it (`terminal_columns`)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
        **kwargs: Any,
    ) -> None:
        if width is None:
            width = terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width, **kwargs)


class RawDescriptionHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """`HelpFormatter` keeping the description's and epilog's own line breaks."""


class _Parser(argparse.ArgumentParser):
    """Usage errors exit with 2 and one clear line, as argparse does, never a traceback.

    An error names the subcommand it belongs to (its own usage, never the top level's) and
    any option that subcommand does not know, even when another error comes first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _SubcommandsAction)
        self._arguments: list[str] = []

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._arguments = list(args) if args is not None else sys.argv[1:]
        return super().parse_known_args(args, namespace)

    def unknown_options(self, arguments: Sequence[str]) -> list[str]:
        """The option-like words of ``arguments`` this parser has no option for."""
        unknown: list[str] = []
        for word in arguments:
            if word == "--":
                break
            if not word.startswith("-") or word == "-" or _is_number(word):
                continue
            name = word.split("=", 1)[0]
            if not any(option.startswith(name) for option in self._option_string_actions):
                unknown.append(name)
        return unknown

    def error(self, message: str) -> NoReturn:
        unknown = (
            [] if "unrecognized arguments" in message else self.unknown_options(self._arguments)
        )
        if unknown:
            message = f"unrecognized arguments: {' '.join(unknown)} (and {message})"
        super().error(message)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


class _SubcommandsAction(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose description defaults to their help line, and whose unknown options
    are reported by the subcommand's own parser (naming it), not left to the top level."""

    commands_configured_on_choice = False

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if kwargs.get("description") is None and kwargs.get("help"):
            help_line = str(kwargs["help"])
            kwargs["description"] = (
                help_line[:1].upper() + help_line[1:] + ("" if help_line.endswith(".") else ".")
            )
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        add_color_option(parser)
        return parser

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if self.commands_configured_on_choice:  # the top level's commands (`build_parser`)
            configure_command(self._name_parser_map[values[0]], values[0])
        super().__call__(parser, namespace, values, option_string)
        extras = getattr(namespace, argparse._UNRECOGNIZED_ARGS_ATTR, None)
        if extras:
            chosen = self._name_parser_map[values[0]]
            delattr(namespace, argparse._UNRECOGNIZED_ARGS_ATTR)
            chosen.error(f"unrecognized arguments: {' '.join(extras)}")


COLOR_CHOICES = ("auto", "always", "never")


def add_color_option(parser: argparse.ArgumentParser) -> None:
    """``--color``, taken by every command and subcommand (unset unless given, so a
    subcommand's parser never hides the value given before it)."""
    parser.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default=argparse.SUPPRESS,
        help="colour text output: auto (on a terminal, unless $NO_COLOR is set; "
        "$FORCE_COLOR forces it), always or never (default: auto)",
    )


def use_color(
    stream: object, choice: str = "auto", environ: Mapping[str, str] | None = None
) -> bool:
    """Whether text written to ``stream`` is coloured: ``--color always|never`` first, then
    ``NO_COLOR`` (any value turns colour off), then ``FORCE_COLOR`` (on, even when not a
    terminal), else only on a terminal."""
    import os

    env = os.environ if environ is None else environ
    if choice != "auto":
        return choice == "always"
    if "NO_COLOR" in env:
        return False
    if "FORCE_COLOR" in env:
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):
        return False


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("opentact-callflow")
    except PackageNotFoundError:
        return "0+unknown"


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(f"callflow {version()}")
        parser.exit(EXIT_OK)


def command_names() -> list[str]:
    """Every subcommand, from the registry in `callflow.commands` (importing none of them)."""
    from callflow.commands import COMMANDS

    return sorted(COMMANDS)


def command_modules(only: str | None = None) -> list[ModuleType]:
    names = [only] if only is not None else command_names()
    return [importlib.import_module(f"callflow.commands.{name}") for name in names]


#: Marks a subcommand's parser whose options are already defined.
_CONFIGURED = "_callflow_configured"


def configure_command(sub: argparse.ArgumentParser, name: str) -> None:
    """Import the module of subcommand ``name`` and define its options on ``sub`` (once)."""
    if getattr(sub, _CONFIGURED, False):
        return
    module = importlib.import_module(f"callflow.commands.{name}")
    module.configure(sub)
    # Where diagnostics an exception carries are printed: stdout for commands whose output
    # is the diagnostics, stderr for those whose stdout is a product (XML, a diagram, a
    # transcript).
    sub.set_defaults(_run=module.run, _stream=getattr(module, "DIAGNOSTICS_STREAM", "stdout"))
    setattr(sub, _CONFIGURED, True)


def build_parser(only: str | None = None, *, lazy: bool = False) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand (a faster start). With
    ``lazy``, a subcommand's module is imported only when the command is chosen (so
    ``callflow --help`` imports none)."""
    from callflow.commands import COMMANDS

    parser = _Parser(
        prog="callflow",
        description="Author, validate, execute and simulate OpenTact call XML flows.",
    )
    parser.add_argument("--version", action=_VersionAction)
    add_color_option(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    assert isinstance(subparsers, _SubcommandsAction)
    subparsers.commands_configured_on_choice = True
    for name in [only] if only is not None else command_names():
        sub = subparsers.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])
        if not lazy:
            configure_command(sub, name)
    return parser


def _chosen_command(argv: Sequence[str]) -> str | None:
    # Only the subcommand being run is imported; anything unusual gets the full parser.
    from callflow.commands import COMMANDS

    if argv and not argv[0].startswith("-") and argv[0] in COMMANDS:
        return argv[0]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(argv) if argv is not None else sys.argv[1:]
    parser = build_parser(_chosen_command(arguments), lazy=True)
    args = parser.parse_args(arguments)
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from callflow.reporters import COLOR

    choice = getattr(args, "color", "auto")
    _COLORED.update(stdout=use_color(sys.stdout, choice), stderr=use_color(sys.stderr, choice))
    # Text is rendered with colour when either stream may show it; written, it loses its
    # colour on a stream that may not (`_write`).
    token = COLOR.set(_COLORED["stdout"] or _COLORED["stderr"])
    try:
        return _run(args, run)
    finally:
        COLOR.reset(token)
        _COLORED.update(stdout=False, stderr=False)


#: Whether each stream may show colour, for the command being run.
_COLORED = {"stdout": False, "stderr": False}


def _write(stream: TextIO, name: str, text: str) -> None:
    from callflow.reporters import strip_color

    stream.write(text if _COLORED[name] else strip_color(text))


def _run(args: argparse.Namespace, run: Any) -> int:
    from callflow.errors import CallflowError, InputError

    try:
        result: Outcome | int = run(args)
        code = result if isinstance(result, int) else write_outcome(result)
    except CallflowError as error:
        _report(args, error)
        # Bad options or input that cannot be read are usage errors; the rest are problems.
        return EXIT_USAGE if isinstance(error, InputError) else EXIT_PROBLEMS
    except KeyboardInterrupt:
        print("callflow: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:  # a bug of ours: one clear line, the traceback on request
        import os

        if os.environ.get("CALLFLOW_DEBUG"):
            raise
        print(
            f"callflow {args.command}: internal error: {type(error).__name__}: {error} "
            "(set CALLFLOW_DEBUG=1 to see the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return code


def write_outcome(outcome: Outcome) -> int:
    """Print what a command produced; its exit code."""
    if outcome.stderr_first and outcome.stderr:
        _write(sys.stderr, "stderr", outcome.stderr)
        sys.stderr.flush()
    if isinstance(outcome.stdout, bytes):
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(outcome.stdout)
            buffer.flush()
        else:  # a text-only stream (e.g. under a test's capture)
            sys.stdout.write(outcome.stdout.decode("utf-8", "replace"))
    elif outcome.stdout:
        _write(sys.stdout, "stdout", outcome.stdout)
    sys.stdout.flush()
    if not outcome.stderr_first and outcome.stderr:
        _write(sys.stderr, "stderr", outcome.stderr)
    return EXIT_PROBLEMS if outcome.problems else EXIT_OK


def _report(args: argparse.Namespace, error: Exception) -> None:
    """An exception a command raised: its diagnostics (on stdout in the command's format,
    or as text on stderr for commands whose stdout is a product), then one line."""
    diagnostics = list(getattr(error, "diagnostics", ()) or ())
    if diagnostics:
        from callflow.reporters import FORMATS, render

        fmt = getattr(args, "format", "text")
        if getattr(args, "_stream", "stdout") == "stdout":
            chosen = fmt if fmt in FORMATS else "text"
            _write(sys.stdout, "stdout", render(diagnostics, chosen, version=version()))
            sys.stdout.flush()
        else:
            _write(sys.stderr, "stderr", render(diagnostics, "text"))
    print(f"callflow {args.command}: {error}", file=sys.stderr)


def console_main() -> None:
    code = main()
    # The process ends here. Everything the command made is frozen out of the cyclic
    # collector, so that the interpreter's last collection at exit does not walk the whole
    # heap to free what the operating system frees anyway: that walk was about a tenth of a
    # short command's CPU (`callflow validate one.xml`). Exit still runs as usual: atexit
    # handlers, non-daemon threads, flushing and closing what reference counting releases.
    import gc

    gc.freeze()
    sys.exit(code)
