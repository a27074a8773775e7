"""Running builder scripts: a `.py` file that defines ``flow`` or ``build()`` becomes a Document.

Running a script never raises for the script's own faults: a syntax error, an exception, a
rejected node, a missing or wrong ``flow`` each become a CF7xx diagnostic at the script's
line, so ``callflow validate script.py`` reports them like any other problem.

`load_script_sources` (what checking calls) runs the script in a child process
(`callflow._child`) with a time limit and its standard output and error captured: the
child builds the Document and sends its XML and source map back as JSON, and the parent
parses them again, so locations still point at the script's lines. Whatever the script
does to its own process (``sys.exit``, ``os._exit``, a hang, a fork, a segfault, a flood
of output) becomes a diagnostic, and the rest of the run goes on.
"""

from __future__ import annotations

import ast
import contextlib
import json
import linecache
import os
import signal
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from callflow.diagnostics import Diagnostic, Severity, register_code
from callflow.dsl._nodes import FlowElement, Node
from callflow.dsl._source import USER, file_kind
from callflow.errors import BuildError
from callflow.sourcemap import SourceLocation, SourceMap
from callflow.sources import DEFAULT_POLICY, LoadedSource, ReadPolicy

register_code("CF701", "builder rejected a node")
register_code("CF702", "builder script raised an exception")
register_code("CF703", "builder script defines neither `flow` nor `build()`")
register_code("CF704", "builder script's flow is not a <Response>")
register_code("CF705", "builder script is not valid Python")
register_code("CF706", "builder script wrote to standard output or error")
register_code("CF707", "builder script ran past its time limit")
register_code("CF708", "builder script's process ended before giving its flow")
register_code("CF709", "builder script left a process running")
register_code("CF710", "builder script wrote too much output")

#: Bytes a script may write to its standard output and error before it is stopped.
MAX_SCRIPT_OUTPUT = 1024 * 1024

#: The module name a script runs under, so that its ``if __name__ == "__main__":`` block
#: (printing the XML, say) does not run when callflow loads it.
SCRIPT_MODULE = "__callflow_script__"


class ScriptResult:
    """What running a builder script gave: the flow, or the diagnostics explaining why not."""

    __slots__ = ("diagnostics", "flow", "path")

    def __init__(self, path: str, flow: FlowElement | None, diagnostics: list[Diagnostic]) -> None:
        self.path = path
        self.flow = flow
        self.diagnostics = diagnostics


def run_script(path: Path, source: bytes | None = None) -> ScriptResult:
    """Run the builder script at ``path`` (or ``source``, its unsaved text) in this process
    and return its flow; never raises for its faults. Checking uses `load_script_sources`,
    which runs it in a child process instead."""
    shown = str(path)
    where = SourceLocation(shown, 1)
    if source is None:
        source, problem = _read(path)
        if problem is not None:
            return ScriptResult(shown, None, [problem])
    assert source is not None
    try:
        code = compile(source, shown, "exec", dont_inherit=True)
    except SyntaxError as error:
        location = SourceLocation(shown, error.lineno or 1, error.offset or None)
        return ScriptResult(
            shown, None, [_error("CF705", f"not valid Python: {error.msg}", location)]
        )
    except ValueError as error:  # e.g. NUL bytes
        return ScriptResult(shown, None, [_error("CF705", f"not valid Python: {error}", where)])

    module = types.ModuleType(SCRIPT_MODULE)
    module.__file__ = shown
    with _script_environment(path, module, source):
        try:
            exec(code, module.__dict__)
            flow = _flow_of(module, source, shown)
        except BuildError as error:
            return ScriptResult(shown, None, [_build_error(error, shown)])
        except ExitCalled as error:
            location = _raise_location(error.__traceback__, shown)
            message = f"the script called os._exit({error.status}), which callflow refused"
            return ScriptResult(shown, None, [_error("CF708", message, location)])
        except (Exception, SystemExit, KeyboardInterrupt) as error:
            location = _raise_location(error.__traceback__, shown)
            message = f"the script raised {type(error).__name__}: {error}".rstrip(": ")
            return ScriptResult(shown, None, [_error("CF702", message, location)])
    if isinstance(flow, Diagnostic):
        return ScriptResult(shown, None, [flow])
    try:
        flow.to_element()  # completeness is checked here, before any consumer sees it
    except BuildError as error:
        return ScriptResult(shown, None, [_build_error(error, shown)])
    return ScriptResult(shown, flow, [])


def load_script_sources(
    path: Path, *, policy: ReadPolicy = DEFAULT_POLICY, text: bytes | None = None
) -> list[LoadedSource]:
    """The builder script at ``path`` as a LoadedSource whose Document maps to its lines.

    The script runs in a child process for at most ``policy.script_timeout`` seconds;
    ``text`` (an unsaved editor buffer) runs instead of the file, with imports still found
    next to ``path``. Never raises for the script's faults.
    """
    from callflow._child import run_in_child

    shown = str(path)
    source = text
    if source is None:
        source, problem = _read(path)
        if problem is not None:
            return [LoadedSource(path, shown, None, [problem])]
    assert source is not None
    try:
        compile(source, shown, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        result = run_script(path, source)  # compiles only: the CF705 diagnostic
        return [LoadedSource(path, shown, None, result.diagnostics)]
    outcome = run_in_child(
        lambda: _build_in_child(path, source),
        timeout=policy.script_timeout,
        max_output=MAX_SCRIPT_OUTPUT,
        max_answer=policy.max_bytes * 16 + 2**20,
        spawn_target="callflow.dsl._script:_build_spawned",
        spawn_argument=os.fsencode(path) + b"\0" + source,
    )
    document = None
    diagnostics: list[Diagnostic] = []
    printed_at: SourceLocation | None = None
    if outcome.answer is not None:
        try:
            document, diagnostics, printed_at = _from_answer(outcome.answer, shown, policy)
        except (ValueError, TypeError, KeyError, AttributeError):
            diagnostics = [
                _error(
                    "CF708",
                    "the script's process gave an answer callflow cannot read",
                    SourceLocation(shown, 1),
                )
            ]
    else:
        diagnostics = [_ended_diagnostic(outcome, shown, policy)]
    if outcome.left_running:
        diagnostics.append(
            _error(
                "CF709",
                "the script left a process running (a fork or a child that outlived it); "
                "it was stopped",
                SourceLocation(shown, 1),
                hint="checking a builder script must not start processes",
            )
        )
    if outcome.output_size and not outcome.too_much_output:
        preview = outcome.output.decode("utf-8", "replace")
        if len(preview) > 60 or outcome.output_size > len(outcome.output):
            preview = preview[:60] + "…"
        diagnostics.append(
            Diagnostic(
                "CF706",
                Severity.WARNING,
                f"the script wrote {outcome.output_size:,} byte(s) to standard output or "
                f"error: {preview!r}",
                printed_at or SourceLocation(shown, 1),
                hint="a builder script should only define `flow` or `build()`; its output is "
                "kept off callflow's own",
            )
        )
    return [LoadedSource(path, shown, document, diagnostics)]


def _read(path: Path) -> tuple[bytes | None, Diagnostic | None]:
    where = SourceLocation(str(path), 1)
    try:
        return path.read_bytes(), None
    except FileNotFoundError:
        return None, _error("CF001", "no such file or directory", where)
    except OSError as error:
        return None, _error("CF007", f"cannot read the file: {error.strerror}", where)


# ---------------------------------------------------------------- the child's side


class ExitCalled(BaseException):
    """Raised in a script's child process instead of ``os._exit``: where it was called."""

    def __init__(self, status: object = 0) -> None:
        super().__init__(status)
        self.status = status


class _LocatingWriter:
    """The child's sys.stdout/sys.stderr: passes writes on, noting where the first came from."""

    def __init__(self, stream: Any, shown: str, record: dict[str, object]) -> None:
        self._stream = stream
        self._shown = shown
        self._record = record

    def write(self, text: str) -> int:
        if text and "printed_at" not in self._record:
            frame = sys._getframe(1)
            while frame is not None:
                if frame.f_code.co_filename == self._shown:
                    self._record["printed_at"] = [self._shown, frame.f_lineno]
                    break
                frame = frame.f_back  # type: ignore[assignment]
        return int(self._stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _build_in_child(path: Path, source: bytes) -> bytes:
    """Run the script (in the child process) and encode what it gave as JSON."""
    shown = str(path)
    record: dict[str, object] = {}
    os._exit = _refuse_exit  # type: ignore[assignment]
    sys.stdout = _LocatingWriter(sys.stdout, shown, record)
    sys.stderr = _LocatingWriter(sys.stderr, shown, record)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    result = run_script(path, source)
    answer: dict[str, object] = {"diagnostics": [_diagnostic_json(d) for d in result.diagnostics]}
    if result.flow is not None:
        try:
            document = result.flow.to_document(shown)
        except BuildError as error:
            answer["diagnostics"] = [_diagnostic_json(_build_error(error, shown))]
        else:
            source_map = document.source_map
            answer["document"] = document.text
            answer["elements"] = {
                xpath: _location_json(location) for xpath, location in source_map.elements.items()
            }
            answer["lines"] = {
                str(line): _location_json(location) for line, location in source_map.lines.items()
            }
    answer["printed_at"] = record.get("printed_at")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return json.dumps(answer).encode("utf-8")


def _build_spawned(argument: bytes) -> bytes:  # pragma: no cover - only without fork
    name, _, source = argument.partition(b"\0")
    return _build_in_child(Path(os.fsdecode(name)), source)


def _refuse_exit(status: object = 0) -> None:
    raise ExitCalled(status)


def _location_json(location: SourceLocation) -> list[object]:
    return [location.file, location.line, location.column, list(location.chain)]


def _location_from(value: Any) -> SourceLocation:
    file, line, column, chain = value
    if not isinstance(file, str) or not all(isinstance(step, str) for step in chain):
        raise TypeError("not a location")
    return SourceLocation(file, int(line), None if column is None else int(column), tuple(chain))


def _diagnostic_json(diagnostic: Diagnostic) -> dict[str, object]:
    return {
        "code": diagnostic.code,
        "severity": diagnostic.severity.value,
        "message": diagnostic.message,
        "location": _location_json(diagnostic.location),
        "hint": diagnostic.hint,
    }


def _from_answer(
    answer: bytes, shown: str, policy: ReadPolicy
) -> tuple[Any, list[Diagnostic], SourceLocation | None]:
    """The child's JSON as a Document (parsed again here) and diagnostics."""
    from callflow.document import load_bytes

    data = json.loads(answer)
    diagnostics = []
    for item in data["diagnostics"]:
        code = str(item["code"])
        if not (code.startswith("CF7") or code in ("CF001", "CF007")):
            raise ValueError("not a script diagnostic")
        hint = item.get("hint")
        diagnostics.append(
            Diagnostic(
                code,
                Severity(item["severity"]),
                str(item["message"]),
                _location_from(item["location"]),
                hint=None if hint is None else str(hint),
            )
        )
    printed = data.get("printed_at")
    printed_at = None if printed is None else SourceLocation(shown, int(printed[1]))
    document = None
    if "document" in data:
        source_map = SourceMap(
            shown,
            identity=False,
            elements={str(k): _location_from(v) for k, v in data["elements"].items()},
            lines={int(k): _location_from(v) for k, v in data["lines"].items()},
        )
        text = str(data["document"])
        document, problems = load_bytes(
            text.encode("utf-8"), shown, source_map=source_map, max_bytes=policy.max_bytes
        )
        diagnostics.extend(problems)
    return document, diagnostics, printed_at


def _ended_diagnostic(outcome: Any, shown: str, policy: ReadPolicy) -> Diagnostic:
    """Why the child gave no flow: the time limit, too much output, a signal, an exit."""
    location = _stack_location(outcome.frames(), shown)
    if outcome.timed_out:
        return _error(
            "CF707",
            f"the script ran longer than {policy.script_timeout:g} s and was stopped",
            location,
            hint="a builder script should build its flow and end; raise the limit with "
            "--script-timeout",
        )
    if outcome.too_much_output:
        return _error(
            "CF710",
            f"the script wrote more than {MAX_SCRIPT_OUTPUT:,} bytes to standard output or "
            "error and was stopped",
            location,
        )
    if outcome.signal is not None:
        try:
            name = signal.Signals(outcome.signal).name
        except ValueError:
            name = f"signal {outcome.signal}"
        return _error("CF708", f"the script's process was killed by {name}", location)
    return _error(
        "CF708",
        f"the script's process ended (exit status {outcome.exit_status}) before giving its flow",
        location,
    )


def _stack_location(frames: list[tuple[str, int]], shown: str) -> SourceLocation:
    for file, line in frames:  # innermost first
        if file == shown:
            return SourceLocation(shown, line)
    for file, line in frames:
        if file_kind(file) == USER:
            return SourceLocation(file, line, None, (f"while running {shown}",))
    return SourceLocation(shown, 1)


# ---------------------------------------------------------------- helpers


def _error(
    code: str, message: str, location: SourceLocation, hint: str | None = None
) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, location, hint=hint)


def _build_error(error: BuildError, shown: str) -> Diagnostic:
    location = error.location
    if location is None:
        location = _raise_location(error.__traceback__, shown)
    return _error("CF701", error.message, location, error.hint)


@contextlib.contextmanager
def _script_environment(path: Path, module: types.ModuleType, source: bytes) -> Iterator[None]:
    """The script's folder importable, the script a module, its prints kept off stdout
    (stdout carries the XML for `callflow build`), and its text the one `linecache` reads:
    it may be an editor's unsaved buffer, and errors quote it and find keywords in it."""
    folder = str(path.resolve().parent)
    previous = sys.modules.get(SCRIPT_MODULE)
    shown = str(module.__file__)
    cached = linecache.cache.get(shown)
    lines = source.decode("utf-8", "replace").splitlines(keepends=True)
    linecache.cache[shown] = (len(source), None, lines, shown)  # no mtime: never reread
    sys.path.insert(0, folder)
    sys.modules[SCRIPT_MODULE] = module
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
        if previous is None:
            sys.modules.pop(SCRIPT_MODULE, None)
        else:
            sys.modules[SCRIPT_MODULE] = previous
        if cached is None:
            linecache.cache.pop(shown, None)
        else:
            linecache.cache[shown] = cached


def _flow_of(module: types.ModuleType, source: bytes, shown: str) -> FlowElement | Diagnostic:
    namespace = vars(module)
    build = namespace.get("build")
    if callable(build):
        value: object = build()
        subject, line = "build() returned", _definition_line(source, "build")
    elif "flow" in namespace:
        value = namespace["flow"]
        subject, line = "`flow` is", _definition_line(source, "flow")
    else:
        return _error(
            "CF703",
            "the script defines neither `flow` nor a `build()` function",
            SourceLocation(shown, 1),
            hint="end the script with `flow = Response(...)`, or define `def build() -> Response`",
        )
    if isinstance(value, FlowElement):
        return value
    hint = "a flow's root is Response(...)"
    if isinstance(value, Node):
        hint = f"wrap it: Response({type(value).__name__}(...))"
    return _error(
        "CF704",
        f"{subject} {_describe(value)}, not a Response",
        SourceLocation(shown, line),
        hint=hint,
    )


# Python's own types in plain words ("is a whole number", not "is a int").
_TYPE_WORDS = {
    "int": "a whole number (int)",
    "float": "a number (float)",
    "str": "a string",
    "bool": "true or false (bool)",
    "list": "a list",
    "tuple": "a tuple",
    "dict": "a dict",
    "bytes": "bytes",
}


def _describe(value: object) -> str:
    name = type(value).__name__
    if isinstance(value, Node):
        return f"{'an' if name[:1] in 'AEIOU' else 'a'} {name}"
    if value is None:
        return "None"
    if name in _TYPE_WORDS:
        return _TYPE_WORDS[name]
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _definition_line(source: bytes, name: str) -> int:
    """The line of the last top-level ``name = ...`` or ``def name``, else 1."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return 1
    line = 1
    for statement in tree.body:
        if _defines(statement, name):
            line = statement.lineno
    return line


def _defines(statement: ast.stmt, name: str) -> bool:
    if isinstance(statement, ast.FunctionDef):
        return statement.name == name
    if isinstance(statement, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in statement.targets)
    if isinstance(statement, ast.AnnAssign):
        return isinstance(statement.target, ast.Name) and statement.target.id == name
    return False


def _raise_location(traceback: TracebackType | None, shown: str) -> SourceLocation:
    """The deepest frame of the script itself, else of any file of the author's."""
    in_script: SourceLocation | None = None
    in_user_code: SourceLocation | None = None
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        location = SourceLocation(filename, traceback.tb_lineno)
        if filename == shown:
            in_script = location
        elif file_kind(filename) == USER:
            in_user_code = location
        traceback = traceback.tb_next
    return in_script or in_user_code or SourceLocation(shown, 1)
