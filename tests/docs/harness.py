"""The doc-test harness: every fenced code block of README.md and docs/**/*.md runs as a test.

Sybil does the collecting, because it plugs into pytest's own collection (each block is a test
item named ``README.md::line:N,column:1``, and a failure names the page and the line), runs the
blocks of one page in order in one namespace, and takes custom parsers: the block conventions
below are one small parser of ours, not a fork of a doctest format.

The conventions, one per kind of fenced block:

* a block whose info line holds ``title="relative/path"`` is a **file**: its text is written to
  that path in the page's working folder (later blocks see it);
* ``python`` blocks run top to bottom in **one namespace per page**, in the page's folder;
* ``console`` blocks hold ``$ command`` lines, each followed by its **exact expected output**
  (stdout and stderr together). A line ``...`` matches any number of lines; trailing whitespace
  is ignored; the page's folder is shown as ``~`` (it is also ``$HOME``). Commands run with
  bash in the page's folder, the ``callflow`` of this environment first on ``PATH``, the
  bundled sandbox as the target (no ``OPENTACT_*`` variables), ``NO_COLOR`` set;
* any other block is **data** and must parse in its language: ``xml`` (well-formed, no
  entities, no network), ``toml``, ``yaml``, ``json``, ``jinja``, ``sh``/``bash``/``shell``
  (``bash -n``), ``lua`` (brackets and strings balanced: no Lua is installed here);
  ``text``, ``mermaid`` or no language at all are plain text. A language the
  harness cannot check is an error, so a typo in a fence cannot silently skip a block.

Each page gets a fresh, empty temporary folder, which is removed after its last block.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "_docs_folder"  # the namespace key of the page's working folder
PLAIN = frozenset({"", "text", "mermaid"})
SHELLS = frozenset({"sh", "bash", "shell"})
COMMAND_TIMEOUT = 180  # seconds for one console command
WILDCARD = "..."
_INFO = re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE)
_TITLE = re.compile(r"""\btitle=(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)')""")
# Variables that would point a command at a real account or another state folder.
_CLEARED = (
    "OPENTACT_API_URL",
    "OPENTACT_TOKEN",
    "OPENTACT_EMAIL",
    "OPENTACT_PASSWORD",
    "CALLFLOW_SANDBOX_DB",
    "CALLFLOW_TEMPLATE_PATH",
    "CALLFLOW_DEBUG",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "FORCE_COLOR",
)


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, the file it stands for (if any) and its text."""

    language: str
    title: str | None
    source: Any  # a sybil Lexeme (a str that knows its line offset)


def parse_info(info: str) -> tuple[str, str | None]:
    """The language and the ``title="..."`` of a fence's info line."""
    words = info.strip().split(maxsplit=1)
    language = words[0].lower() if words and "=" not in words[0] else ""
    match = _TITLE.search(info)
    title = None if match is None else (match.group("double") or match.group("single") or "")
    return language, title


# ---------------------------------------------------------------- the page's environment


def page_environment(folder: Path) -> dict[str, str]:
    """What a console command sees: this environment's callflow first, a private home."""
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        HOME=str(folder),
        PATH=os.pathsep.join([bin_dir, env.get("PATH", "/usr/bin:/bin")]),
        NO_COLOR="1",
        COLUMNS="100",
        TERM="dumb",
        PYTHONIOENCODING="utf-8",
        PYTHONUNBUFFERED="1",  # stdout and stderr interleave in the order written
    )
    return env


def setup_page(namespace: dict[str, Any]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="callflow-docs-")).resolve()
    namespace[FOLDER] = folder
    namespace["_docs_saved"] = (os.getcwd(), dict(os.environ))
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(page_environment(folder))


def teardown_page(namespace: dict[str, Any]) -> None:
    cwd, environ = namespace.pop("_docs_saved")
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(environ)
    shutil.rmtree(namespace.pop(FOLDER), ignore_errors=True)


# ---------------------------------------------------------------- evaluators


def _folder(example: Example) -> Path:
    folder = example.namespace.get(FOLDER)
    if not isinstance(folder, Path):
        raise RuntimeError("the page was not set up (run it through the doc-test harness)")
    return folder


def write_file(example: Example) -> str | None:
    block: Block = example.parsed
    relative = Path(str(block.title))
    if not block.title or relative.is_absolute() or ".." in relative.parts:
        return f"title={block.title!r}: a file block needs a relative path inside the page"
    target = _folder(example) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(str(block.source), encoding="utf-8")
    return None


def run_python(example: Example) -> None:
    __tracebackhide__ = True
    source = example.parsed.source
    # Padded with newlines, so that a traceback names the page's own line numbers.
    padded = "\n" * (example.line + source.line_offset) + str(source)
    exec(compile(padded, example.path, "exec", dont_inherit=True), example.namespace)
    example.namespace.pop("__builtins__", None)


def normalise(output: str, folder: Path) -> list[str]:
    """Output lines as compared: the folder shown as ``~``, trailing whitespace dropped."""
    for spelling in sorted({str(folder), os.path.realpath(folder)}, key=len, reverse=True):
        output = output.replace(spelling, "~")
    lines = [line.rstrip() for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(expected: Sequence[str], actual: Sequence[str]) -> bool:
    """Whether ``actual`` is ``expected`` with each ``...`` line standing for any lines."""
    # positions[i] is True when expected[:e] can match actual[:i]; one row per expected line.
    positions = [True] + [False] * len(actual)
    for want in expected:
        if want == WILDCARD:
            reached = False
            for i in range(len(positions)):
                reached = reached or positions[i]
                positions[i] = reached
        else:
            positions = [False] + [positions[i] and actual[i] == want for i in range(len(actual))]
    return positions[len(actual)]


@dataclass(frozen=True)
class Command:
    line: int  # offset of the `$ ` line within the block
    command: str
    expected: tuple[str, ...]


def console_commands(source: str) -> list[Command]:
    commands: list[Command] = []
    for number, line in enumerate(source.splitlines()):
        if line.startswith("$ "):
            commands.append(Command(number, line[2:], ()))
        elif line.rstrip() == "$":
            raise ValueError(f"line {number + 1} of the block: `$` with no command")
        elif not commands:
            if line.strip():
                raise ValueError(
                    f"line {number + 1} of the block: a console block starts with a `$ ` command"
                )
        else:
            last = commands[-1]
            commands[-1] = Command(last.line, last.command, (*last.expected, line.rstrip()))
    if not commands:
        raise ValueError("a console block holds no `$ ` command")
    return commands


def run_console(example: Example) -> str | None:
    block: Block = example.parsed
    folder = _folder(example)
    try:
        commands = console_commands(str(block.source))
    except ValueError as error:
        return str(error)
    first_line = example.line + 1 + block.source.line_offset
    for command in commands:
        try:
            result = subprocess.run(
                ["bash", "-c", command.command],
                cwd=folder,
                env=page_environment(folder),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            where = first_line + command.line
            return f"line {where}: `{command.command}` ran over {COMMAND_TIMEOUT} s"
        actual = normalise(result.stdout.decode("utf-8", "replace"), folder)
        expected = list(command.expected)
        while expected and not expected[-1]:
            expected.pop()
        if not matches(expected, actual):
            return (
                f"line {first_line + command.line}: `$ {command.command}` "
                f"(exit status {result.returncode}) printed something else.\n"
                "--- expected\n" + "\n".join(expected) + "\n+++ actual\n" + "\n".join(actual)
            )
    return None


def _check_xml(text: str) -> None:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    etree.fromstring(text.encode("utf-8"), parser)


def _check_jinja(text: str) -> None:
    import jinja2

    jinja2.Environment(extensions=["jinja2.ext.do"]).parse(text)


def _check_shell(text: str) -> None:
    result = subprocess.run(
        ["bash", "-n"], input=text, capture_output=True, text=True, timeout=30, check=False
    )
    if result.returncode != 0:
        raise ValueError(result.stderr.strip())


def _check_lua(text: str) -> None:
    """Brackets balanced outside strings and comments (Lua itself is not on the machine)."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if text.startswith("--", index):
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        if char in "\"'":
            end = index + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise ValueError(f"unterminated string at offset {index}")
            index = end + 1
            continue
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            raise ValueError(f"unbalanced {char!r} at offset {index}")
        index += 1
    if stack:
        raise ValueError(f"unclosed {stack[-1]!r}")


CHECKERS: Mapping[str, Callable[[str], object]] = {
    "lua": _check_lua,
    "xml": _check_xml,
    "toml": tomllib.loads,
    "yaml": lambda text: list(yaml.safe_load_all(text)),
    "json": json.loads,
    "jinja": _check_jinja,
    **dict.fromkeys(SHELLS, _check_shell),
}


def check_data(example: Example) -> str | None:
    block: Block = example.parsed
    if block.language in PLAIN:
        return None
    checker = CHECKERS.get(block.language)
    if checker is None:
        known = ", ".join(sorted({*CHECKERS, "python", "console", "text", "mermaid"}))
        return (
            f'a ```{block.language} block is neither a file (title="path") nor a language '
            f"the harness can check ({known})"
        )
    try:
        checker(str(block.source))
    except Exception as error:  # any parser's complaint is the finding
        return f"this {block.language} block does not parse: {type(error).__name__}: {error}"
    return None


# ---------------------------------------------------------------- the parser


class FencedBlocks:
    """A Sybil parser: every fenced block of a page, evaluated by its kind."""

    def __init__(self) -> None:
        self.lexer = RawFencedCodeBlockLexer(info_pattern=_INFO)

    def __call__(self, document: Document) -> Iterator[Region]:
        for lexed in self.lexer(document):
            language, title = parse_info(lexed.lexemes["info"])
            block = Block(language, title, lexed.lexemes["source"])
            if title is not None:
                evaluator: Callable[[Example], str | None] = write_file
            elif language == "python":
                evaluator = run_python
            elif language == "console":
                evaluator = run_console
            else:
                evaluator = check_data
            yield Region(lexed.start, lexed.end, block, evaluator)


class _Pages(Sybil):
    """Sybil matching whole relative paths (``docs/*.md`` is every page under docs/)."""

    def should_parse(self, path: Path) -> bool:
        try:
            relative = path.relative_to(self.path).as_posix()
        except ValueError:
            return False
        return any(fnmatch.fnmatchcase(relative, pattern) for pattern in self.patterns)


def make_sybil(path: str | Path = ROOT, patterns: Iterable[str] = ()) -> Sybil:
    """The harness over ``patterns``: whole paths relative to ``path``."""
    return _Pages(
        parsers=[FencedBlocks()],
        path=str(path),
        patterns=list(patterns),
        setup=setup_page,
        teardown=teardown_page,
    )


PAGES = ("README.md", "docs/*.md")  # fnmatch's `*` crosses folders: every page under docs/
DOCS = make_sybil(ROOT, PAGES)

__all__ = ["DOCS", "PAGES", "make_sybil", "matches", "normalise", "parse_info"]
